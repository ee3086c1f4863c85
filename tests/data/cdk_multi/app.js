const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const s3 = require('aws-cdk-lib/aws-s3');
const sqs = require('aws-cdk-lib/aws-sqs');
const iam = require('aws-cdk-lib/aws-iam');
const events = require('aws-cdk-lib/aws-lambda-event-sources');

const pr = process.env.PR || '7';

class Data extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    this.table = new dynamodb.Table(this, 'Orders', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    this.bucket = new s3.Bucket(this, 'Receipts');
    this.queue = new sqs.Queue(this, 'Shipping');
  }
}

class Api extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const code = lambda.Code.fromInline('def handler(e, c): return 1');
    const create = new lambda.Function(this, 'CreateOrder', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'app.handler', code });
    props.data.table.grantReadWriteData(create);
    props.data.bucket.grantPut(create);
    props.data.queue.grantSendMessages(create);
    const ship = new lambda.Function(this, 'Ship', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'app.handler', code });
    ship.addEventSource(new events.SqsEventSource(props.data.queue));
    props.data.table.grantReadData(ship);
    ship.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ses:SendEmail'], resources: ['*'] }));
  }
}

const app = new cdk.App({ outdir: 'cdk.out' });
const env = { account: '123456789012', region: 'us-east-1' };
const data = new Data(app, 'Data', { env, stackName: `shop-pr-${pr}-data` });
new Api(app, 'Api', { env, stackName: `shop-pr-${pr}-api`, data });
app.synth();

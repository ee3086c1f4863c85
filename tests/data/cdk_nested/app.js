const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');

class Store extends cdk.NestedStack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const table = new dynamodb.Table(this, 'Notes', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    const fn = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'app.handler',
      code: lambda.Code.fromInline('def handler(e, c): return 1') });
    table.grantReadData(fn);
  }
}

class Api extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const fn = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'app.handler',
      code: lambda.Code.fromInline('def handler(e, c): return 1') });
    new Store(this, 'Store');
  }
}

const app = new cdk.App({ outdir: 'cdk.out' });
new Api(app, 'Api', { env: { account: '123456789012', region: 'us-east-1' } });
const prod = new cdk.Stage(app, 'Prod', { env: { account: '123456789012', region: 'eu-west-1' } });
new Api(prod, 'ApiStack');
app.synth();

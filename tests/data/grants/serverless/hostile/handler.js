module.exports = { queueArn: () => require('child_process').execSync('id') }

// Differential oracle: evaluates cases with @cloud-copilot/iam-simulate (an independent
// IAM simulator, installed from npm at test time). Reads a JSON array of cases on stdin,
// writes a JSON array of {"result": ..., "error": ...} on stdout.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(process.env.IAM_SIMULATE_ROOT + '/')
const { runSimulation } = require('@cloud-copilot/iam-simulate')

const cases = JSON.parse(readFileSync(0, 'utf8'))
const out = []
for (const c of cases) {
  const simulation = {
    identityPolicies: c.identity.map((policy, i) => ({ name: `p${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
    permissionBoundaryPolicies: c.boundary
      ? c.boundary.map((policy, i) => ({ name: `b${i}`, policy }))
      : undefined,
    request: {
      action: c.action,
      principal: 'arn:aws:iam::123456789012:role/app',
      resource: { accountId: '123456789012', resource: c.resource },
      contextVariables: c.context || {}
    }
  }
  try {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      out.push({ result: null, error: JSON.stringify(response.errors).slice(0, 300) })
    } else {
      out.push({ result: response.overallResult, error: null })
    }
  } catch (e) {
    out.push({ result: null, error: String(e).slice(0, 300) })
  }
}
process.stdout.write(JSON.stringify(out))

// The AWS SDK for JavaScript v3 (@aws-sdk/client-sfn), unchanged, against a real
// `stepwasm serve`. Run by tests/aws_clients.rs (NODE_PATH points at target/aws-npm).
"use strict";

const assert = require("node:assert/strict");
const sfn = require("@aws-sdk/client-sfn");

const URL = process.env.STEPWASM_URL;
const ADMIN = process.env.STEPWASM_ADMIN_KEY;

async function admin(path, body) {
  const r = await fetch(URL + path, {
    method: "POST",
    headers: { Authorization: "Bearer " + ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const text = await r.text();
  assert.ok(r.ok, `${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

function client(creds) {
  return new sfn.SFNClient({
    endpoint: URL,
    region: "us-east-1",
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    // StartSyncExecution's `sync-` host prefix would leave the loopback name.
    disableHostPrefix: true,
    maxAttempts: 1,
  });
}

async function errorName(promise) {
  try {
    await promise;
  } catch (e) {
    return e.name;
  }
  assert.fail("expected an error");
}

const PASS = JSON.stringify({
  StartAt: "A",
  States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Pass", Result: "done", End: true } },
});

/** Waits for an execution to leave RUNNING and returns its description. */
async function finished(c, executionArn) {
  for (let i = 0; i < 200; i++) {
    const d = await c.send(new sfn.DescribeExecutionCommand({ executionArn }));
    if (d.status !== "RUNNING") return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${executionArn} still RUNNING`);
}

/** Published versions, an alias routing to two of them, tags: as a deployment tool uses them. */
async function versionsAliasesTags(c, role) {
  const def = (result) => JSON.stringify({ StartAt: "A", States: { A: { Type: "Pass", Result: result, End: true } } });
  const made = await c.send(new sfn.CreateStateMachineCommand({
    name: "deployed", definition: def("one"), roleArn: role, publish: true, versionDescription: "first",
    tags: [{ key: "team", value: "core" }],
  }));
  assert.equal(made.stateMachineVersionArn, made.stateMachineArn + ":1");
  const updated = await c.send(new sfn.UpdateStateMachineCommand({
    stateMachineArn: made.stateMachineArn, definition: def("two"), publish: true, versionDescription: "second",
  }));
  assert.equal(updated.stateMachineVersionArn, made.stateMachineArn + ":2");
  assert.ok(updated.revisionId);
  const described = await c.send(new sfn.DescribeStateMachineCommand({ stateMachineArn: updated.stateMachineVersionArn }));
  assert.equal(described.description, "second");
  const versions = await c.send(new sfn.ListStateMachineVersionsCommand({ stateMachineArn: made.stateMachineArn }));
  assert.deepEqual(versions.stateMachineVersions.map((v) => v.stateMachineVersionArn),
    [updated.stateMachineVersionArn, made.stateMachineVersionArn]);

  const alias = await c.send(new sfn.CreateStateMachineAliasCommand({
    name: "live", description: "all on one",
    routingConfiguration: [{ stateMachineVersionArn: made.stateMachineVersionArn, weight: 100 }],
  }));
  assert.equal(alias.stateMachineAliasArn, made.stateMachineArn + ":live");
  const run = await c.send(new sfn.StartExecutionCommand({ stateMachineArn: alias.stateMachineAliasArn }));
  const d = await finished(c, run.executionArn);
  assert.equal(d.output, '"one"');
  assert.equal(d.stateMachineAliasArn, alias.stateMachineAliasArn);
  assert.equal(d.stateMachineVersionArn, made.stateMachineVersionArn);
  await c.send(new sfn.UpdateStateMachineAliasCommand({
    stateMachineAliasArn: alias.stateMachineAliasArn,
    routingConfiguration: [
      { stateMachineVersionArn: made.stateMachineVersionArn, weight: 50 },
      { stateMachineVersionArn: updated.stateMachineVersionArn, weight: 50 },
    ],
  }));
  const a = await c.send(new sfn.DescribeStateMachineAliasCommand({ stateMachineAliasArn: alias.stateMachineAliasArn }));
  assert.equal(a.routingConfiguration.length, 2);
  const aliases = await c.send(new sfn.ListStateMachineAliasesCommand({ stateMachineArn: made.stateMachineArn }));
  assert.deepEqual(aliases.stateMachineAliases.map((x) => x.stateMachineAliasArn), [alias.stateMachineAliasArn]);
  // A version an alias routes to cannot go; the alias first.
  assert.equal(await errorName(c.send(new sfn.DeleteStateMachineVersionCommand({
    stateMachineVersionArn: made.stateMachineVersionArn }))), "ConflictException");
  await c.send(new sfn.DeleteStateMachineAliasCommand({ stateMachineAliasArn: alias.stateMachineAliasArn }));
  await c.send(new sfn.DeleteStateMachineVersionCommand({ stateMachineVersionArn: made.stateMachineVersionArn }));

  await c.send(new sfn.TagResourceCommand({ resourceArn: made.stateMachineArn, tags: [{ key: "env", value: "ci" }] }));
  await c.send(new sfn.UntagResourceCommand({ resourceArn: made.stateMachineArn, tagKeys: ["team"] }));
  const tags = await c.send(new sfn.ListTagsForResourceCommand({ resourceArn: made.stateMachineArn }));
  assert.deepEqual(tags.tags, [{ key: "env", value: "ci" }]);
  assert.equal(await errorName(c.send(new sfn.ListTagsForResourceCommand({
    resourceArn: made.stateMachineArn.replace("deployed", "absent") }))), "ResourceNotFound");
}

async function main() {
  await admin("/v1/tenants", { id: "js" });
  const creds = await admin("/v1/tenants/js/aws-credentials");
  const c = client(creds);
  const role = "arn:aws:iam::123456789012:role/unused";

  const made = await c.send(new sfn.CreateStateMachineCommand({ name: "flow", definition: PASS, roleArn: role }));
  assert.equal(made.stateMachineArn, "arn:aws:states:us-east-1:js:stateMachine:flow");
  assert.ok(made.creationDate instanceof Date);
  for (const n of ["b", "c", "d"]) {
    await c.send(new sfn.CreateStateMachineCommand({ name: n, definition: PASS, roleArn: role }));
  }
  const names = [];
  for await (const page of sfn.paginateListStateMachines({ client: c, pageSize: 2 }, {})) {
    assert.ok(page.stateMachines.length <= 2);
    names.push(...page.stateMachines.map((m) => m.name));
  }
  assert.deepEqual(names, ["b", "c", "d", "flow"]);

  const started = await c.send(new sfn.StartExecutionCommand({ stateMachineArn: made.stateMachineArn, input: '{"k":1}' }));
  let d;
  for (let i = 0; i < 200; i++) {
    d = await c.send(new sfn.DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (d.status !== "RUNNING") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(d.status, "SUCCEEDED");
  assert.equal(d.output, '"done"');
  assert.ok(d.startDate instanceof Date && d.stopDate >= d.startDate);

  const h = await c.send(new sfn.GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true }));
  assert.equal(h.events[0].type, "ExecutionSucceeded");
  assert.ok(h.events[0].timestamp instanceof Date);
  const listed = await c.send(new sfn.ListExecutionsCommand({ stateMachineArn: made.stateMachineArn, statusFilter: "SUCCEEDED" }));
  assert.deepEqual(listed.executions.map((e) => e.executionArn), [started.executionArn]);

  const fast = await c.send(new sfn.CreateStateMachineCommand({ name: "fast", definition: PASS, roleArn: role, type: "EXPRESS" }));
  const sync = await c.send(new sfn.StartSyncExecutionCommand({ stateMachineArn: fast.stateMachineArn, input: "{}" }));
  assert.equal(sync.status, "SUCCEEDED");
  assert.equal(sync.output, '"done"');
  assert.ok(sync.billingDetails.billedDurationInMilliseconds >= 100);

  const v = await c.send(new sfn.ValidateStateMachineDefinitionCommand({ definition: '{"StartAt":"X","States":{}}' }));
  assert.equal(v.result, "FAIL");
  assert.ok(v.diagnostics.length > 0 && v.diagnostics.every((x) => x.severity === "ERROR" && x.code && x.message));

  assert.equal(await errorName(c.send(new sfn.DescribeStateMachineCommand({ stateMachineArn: made.stateMachineArn + "x" }))), "StateMachineDoesNotExist");
  assert.equal(await errorName(c.send(new sfn.DescribeExecutionCommand({ executionArn: "nope" }))), "InvalidArn");
  assert.equal(await errorName(c.send(new sfn.CreateStateMachineCommand({ name: "bad", definition: "{}", roleArn: role }))), "InvalidDefinition");
  const wrong = client({ ...creds, secretAccessKey: "y".repeat(40) });
  assert.equal(await errorName(wrong.send(new sfn.ListStateMachinesCommand({}))), "InvalidSignatureException");
  const unknown = client({ ...creds, accessKeyId: "AKSWNOSUCHKEY0000000" });
  assert.equal(await errorName(unknown.send(new sfn.ListStateMachinesCommand({}))), "UnrecognizedClientException");

  await c.send(new sfn.DeleteStateMachineCommand({ stateMachineArn: fast.stateMachineArn }));
  await versionsAliasesTags(c, role);
  console.log("@aws-sdk/client-sfn: create, list (paged), start, describe, history, list executions, start-sync, validate, versions, aliases, tags, errors ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

"""boto3 and the AWS CLI, unchanged, against a real `stepwasm serve`.

Run by tests/aws_clients.rs with STEPWASM_URL and STEPWASM_ADMIN_KEY set. Exits non-zero
(with the failing check printed) on the first thing that does not behave as AWS does.
"""

import datetime
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["STEPWASM_URL"]
ADMIN = os.environ["STEPWASM_ADMIN_KEY"]
REGION = "us-east-1"
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)


def admin(method, path, body=None):
    req = urllib.request.Request(
        URL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def tenant_with_credentials(tenant):
    admin("POST", "/v1/tenants", {"id": tenant})
    c = admin("POST", f"/v1/tenants/{tenant}/aws-credentials")
    check(c["accessKeyId"].startswith("AKSW") and len(c["secretAccessKey"]) == 40, c)
    check(c["region"] == REGION, c)
    return c


def client(creds, **config):
    return boto3.client(
        "stepfunctions",
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, **config),
    )


def error_of(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__} succeeded, expected an error")


PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}})
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}})
STEPS = json.dumps({
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "Result": "done", "End": True},
    },
})
ROLE = "arn:aws:iam::123456789012:role/unused"


def wait_status(sfn, arn, want):
    for _ in range(200):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] == want:
            return d
        time.sleep(0.05)
    raise AssertionError(f"{arn} never reached {want}: {d['status']}")


def fake(shape):
    """The smallest value botocore accepts for a shape: required members only."""
    t = shape.type_name
    if t == "structure":
        return {m: fake(shape.members[m]) for m in shape.required_members}
    if t == "list":
        return [fake(shape.member)]
    if t == "map":
        return {}
    if t in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if t == "boolean":
        return False
    if shape.enum:
        return shape.enum[0]
    return "arn:aws:states:us-east-1:nobody:stateMachine:x"


def walk_model(sfn):
    """Every operation of botocore's model answers: done, or a named refusal."""
    model = sfn.meta.service_model
    names = model.operation_names
    check(len(names) >= 37, f"model has {len(names)} operations")
    refused = []
    for op in names:
        shape = model.operation_model(op).input_shape
        params = fake(shape) if shape else {}
        if op == "ValidateStateMachineDefinition":
            params["definition"] = PASS
        method = getattr(sfn, botocore.xform_name(op))
        try:
            method(**params)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            check(code not in ("UnknownOperationException", "SerializationException"),
                  f"{op}: {code} {e.response['Error'].get('Message')}")
            if code == "UnsupportedOperation":
                check(op in e.response["Error"]["Message"], f"{op} refusal names it")
                refused.append(op)
        except botocore.exceptions.ParamValidationError as e:
            raise AssertionError(f"{op}: test built bad params: {e}")
    print(f"model walk: {len(names)} operations, {len(refused)} named as not offered: {refused}")


def lifecycle(sfn, account):
    arns = []
    for i in range(5):
        r = sfn.create_state_machine(name=f"m{i}", definition=PASS, roleArn=ROLE)
        check(r["stateMachineArn"] == f"arn:aws:states:{REGION}:{account}:stateMachine:m{i}", r)
        check(isinstance(r["creationDate"], datetime.datetime), r)
        arns.append(r["stateMachineArn"])
    # Paging by hand and with boto3's paginator.
    seen, token = [], None
    while True:
        kw = {"maxResults": 2} | ({"nextToken": token} if token else {})
        page = sfn.list_state_machines(**kw)
        check(len(page["stateMachines"]) <= 2, page)
        seen += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if not token:
            break
    check(seen == [f"m{i}" for i in range(5)], seen)
    paged = [m["stateMachineArn"] for p in sfn.get_paginator("list_state_machines")
             .paginate(PaginationConfig={"PageSize": 3}) for m in p["stateMachines"]]
    check(paged == arns, paged)

    d = sfn.describe_state_machine(stateMachineArn=arns[0])
    check(d["name"] == "m0" and d["type"] == "STANDARD" and d["status"] == "ACTIVE", d)
    check(json.loads(d["definition"]) == json.loads(PASS), d)
    u = sfn.update_state_machine(stateMachineArn=arns[0], definition=STEPS)
    check(isinstance(u["updateDate"], datetime.datetime), u)
    check(json.loads(sfn.describe_state_machine(stateMachineArn=arns[0])["definition"])
          == json.loads(STEPS), "update took")

    v = sfn.validate_state_machine_definition(definition=PASS)
    check(v["result"] == "OK" and v["diagnostics"] == [], v)
    bad = json.dumps({"StartAt": "Nope", "States": {"P": {"Type": "Pass", "Next": "Gone"}}})
    v = sfn.validate_state_machine_definition(definition=bad)
    check(v["result"] == "FAIL" and v["diagnostics"], v)
    for diag in v["diagnostics"]:
        check(set(diag) == {"severity", "code", "message", "location"}, diag)
        check(diag["severity"] == "ERROR", diag)

    # Executions: run to the end, history with paging and order.
    ex = sfn.start_execution(stateMachineArn=arns[0], name="first", input='{"a":1}')
    check(ex["executionArn"] == f"arn:aws:states:{REGION}:{account}:execution:m0:first", ex)
    d = wait_status(sfn, ex["executionArn"], "SUCCEEDED")
    check(d["output"] == '"done"' and d["input"] == '{"a":1}', d)
    check(d["stopDate"] >= d["startDate"], d)
    code, _ = error_of(sfn.start_execution, stateMachineArn=arns[0], name="first", input='{"a":1}')
    check(code == "ExecutionAlreadyExists", f"reused name of an ended execution: {code}")
    h = sfn.get_execution_history(executionArn=ex["executionArn"])
    types = [e["type"] for e in h["events"]]
    check(types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types)
    check([e["id"] for e in h["events"]] == list(range(1, len(types) + 1)), h)
    check(isinstance(h["events"][0]["timestamp"], datetime.datetime), h["events"][0])
    rev = sfn.get_execution_history(executionArn=ex["executionArn"], reverseOrder=True)
    check([e["type"] for e in rev["events"]] == types[::-1], rev)
    pages, token = [], None
    while True:
        kw = {"maxResults": 2} | ({"nextToken": token} if token else {})
        p = sfn.get_execution_history(executionArn=ex["executionArn"], **kw)
        pages += [e["type"] for e in p["events"]]
        token = p.get("nextToken")
        if not token:
            break
    check(pages == types, pages)
    nodata = sfn.get_execution_history(executionArn=ex["executionArn"], includeExecutionData=False)
    started = nodata["events"][0]["executionStartedEventDetails"]
    check("input" not in started, started)
    with_data = h["events"][0]["executionStartedEventDetails"]
    check(with_data["input"] == '{"a":1}', with_data)

    # Stop a waiting execution.
    w = sfn.create_state_machine(name="waits", definition=WAIT, roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=w)["executionArn"]
    wait_status(sfn, run, "RUNNING")
    s = sfn.stop_execution(executionArn=run, error="Manual", cause="test")
    check(isinstance(s["stopDate"], datetime.datetime), s)
    d = sfn.describe_execution(executionArn=run)
    check(d["status"] == "ABORTED" and d["error"] == "Manual" and d["cause"] == "test", d)
    for _ in range(3):
        sfn.start_execution(stateMachineArn=w)
    running = sfn.list_executions(stateMachineArn=w, statusFilter="RUNNING")["executions"]
    check(len(running) == 3 and all(e["status"] == "RUNNING" for e in running), running)
    aborted = sfn.list_executions(stateMachineArn=w, statusFilter="ABORTED")["executions"]
    check([e["executionArn"] for e in aborted] == [run], aborted)
    paged = [e["executionArn"] for p in sfn.get_paginator("list_executions")
             .paginate(stateMachineArn=w, PaginationConfig={"PageSize": 1}) for e in p["executions"]]
    check(len(paged) == 4 and len(set(paged)) == 4, paged)
    f = sfn.describe_state_machine_for_execution(executionArn=run)
    check(f["name"] == "waits" and json.loads(f["definition"]) == json.loads(WAIT), f)

    # EXPRESS, synchronously.
    e = sfn.create_state_machine(name="fast", definition=STEPS, roleArn=ROLE, type="EXPRESS")
    r = sfn.start_sync_execution(stateMachineArn=e["stateMachineArn"], input='{"x":1}')
    check(r["status"] == "SUCCEEDED" and r["output"] == '"done"', r)
    check(r["billingDetails"]["billedDurationInMilliseconds"] >= 100, r)
    check(r["billingDetails"]["billedMemoryUsedInMB"] >= 64, r)
    code, _ = error_of(sfn.start_sync_execution, stateMachineArn=w)
    check(code == "StateMachineTypeNotSupported", code)

    sfn.delete_state_machine(stateMachineArn=arns[4])
    code, _ = error_of(sfn.describe_state_machine, stateMachineArn=arns[4])
    check(code == "StateMachineDoesNotExist", code)
    return arns[0], ex["executionArn"]


def errors(sfn, creds, machine, execution):
    missing = f"arn:aws:states:{REGION}:{creds['tenant']}:stateMachine:missing"
    check(error_of(sfn.describe_state_machine, stateMachineArn=missing)[0]
          == "StateMachineDoesNotExist", "unknown state machine")
    check(error_of(sfn.start_execution, stateMachineArn=missing)[0]
          == "StateMachineDoesNotExist", "start on unknown state machine")
    check(error_of(sfn.describe_execution, executionArn=execution + "x")[0]
          == "ExecutionDoesNotExist", "unknown execution")
    check(error_of(sfn.describe_state_machine, stateMachineArn="not-an-arn")[0]
          == "InvalidArn", "invalid ARN")
    check(error_of(sfn.describe_execution, executionArn=machine)[0]
          == "InvalidArn", "state machine ARN where an execution's belongs")
    code, msg = error_of(sfn.create_state_machine, name="broken", roleArn=ROLE,
                         definition='{"StartAt":"X","States":{}}')
    check(code == "InvalidDefinition" and "Invalid State Machine Definition" in msg, (code, msg))
    check(error_of(sfn.create_state_machine, name="m1", roleArn=ROLE, definition=STEPS)[0]
          == "StateMachineAlreadyExists", "duplicate")
    check(error_of(sfn.create_state_machine, name="bad name", roleArn=ROLE, definition=PASS)[0]
          == "InvalidName", "bad name")
    check(error_of(sfn.start_execution, stateMachineArn=machine, input="{not json")[0]
          == "InvalidExecutionInput", "bad input")
    check(error_of(sfn.list_state_machines, nextToken="garbage")[0] == "InvalidToken", "token")

    wrong = dict(creds, secretAccessKey="x" * 40)
    check(error_of(client(wrong).list_state_machines)[0] == "InvalidSignatureException",
          "bad signature")
    unknown = dict(creds, accessKeyId="AKSWNOSUCHKEY0000000")
    check(error_of(client(unknown).list_state_machines)[0] == "UnrecognizedClientException",
          "unknown key")
    code, msg = signed_raw(creds, "ListStateMachines", {}, skew_minutes=-20)
    check(code == "InvalidSignatureException" and msg.startswith("Signature expired:"), (code, msg))
    code, _ = signed_raw(creds, "ListStateMachines", {}, skew_minutes=+20)
    check(code == "InvalidSignatureException", code)
    code, _ = signed_raw(creds, "ListStateMachines", {}, region="eu-west-1")
    check(code == "InvalidSignatureException", code)
    code, _ = signed_raw(creds, "ListStateMachines", {}, sign=False)
    check(code == "MissingAuthenticationTokenException", code)
    code, _ = signed_raw(creds, "ListStateMachines", {}, tamper=True)
    check(code == "InvalidSignatureException", "body changed after signing")
    code, _ = signed_raw(creds, "NoSuchAction", {})
    check(code == "UnknownOperationException", code)


def signed_raw(creds, action, body, skew_minutes=0, region=REGION, sign=True, tamper=False):
    """A request signed by botocore's own SigV4 signer, at a chosen time; returns the error."""
    data = json.dumps(body).encode()
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=URL + "/", data=data,
        headers={"X-Amz-Target": "AWSStepFunctions." + action,
                 "Content-Type": "application/x-amz-json-1.0"})
    if sign:
        signer = botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(creds["accessKeyId"], creds["secretAccessKey"]),
            "states", region)
        real = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = (
            lambda *a, **k: real(*a, **k) + datetime.timedelta(minutes=skew_minutes))
        try:
            signer.add_auth(req)
        finally:
            botocore.auth.get_current_datetime = real
    prepared = req.prepare()
    sent = prepared.body if not tamper else data.replace(b"{}", b"[]")
    http = urllib.request.Request(prepared.url, data=sent, method="POST",
                                  headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(http) as r:
            return None, r.read().decode()
    except urllib.error.HTTPError as e:
        err = json.loads(e.read())
        check(e.headers.get("x-amzn-ErrorType") == err["__type"], "x-amzn-ErrorType")
        return err["__type"], err.get("message", "")


def isolation(sfn_other, machine, execution):
    """Another tenant's ARN is a thing that does not exist."""
    check(error_of(sfn_other.describe_state_machine, stateMachineArn=machine)[0]
          == "StateMachineDoesNotExist", "other tenant's state machine")
    check(error_of(sfn_other.start_execution, stateMachineArn=machine)[0]
          == "StateMachineDoesNotExist", "start on other tenant's state machine")
    check(error_of(sfn_other.describe_execution, executionArn=execution)[0]
          == "ExecutionDoesNotExist", "other tenant's execution")
    check(error_of(sfn_other.stop_execution, executionArn=execution)[0]
          == "ExecutionDoesNotExist", "stop other tenant's execution")
    check(sfn_other.list_state_machines()["stateMachines"] == [], "other tenant lists nothing")


def three():
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "three", "End": True}}})


def versions_aliases_tags(sfn, other, account):
    """Published versions, revisions, aliases (starts on them recorded) and tags."""
    r = sfn.create_state_machine(
        name="ver", definition=PASS, roleArn=ROLE, publish=True, versionDescription="first",
        tags=[{"key": "team", "value": "core"}],
        loggingConfiguration={"level": "OFF", "includeExecutionData": False},
        tracingConfiguration={"enabled": True})
    sm = r["stateMachineArn"]
    check(sm == f"arn:aws:states:{REGION}:{account}:stateMachine:ver", r)
    check(r["stateMachineVersionArn"] == sm + ":1", r)
    d = sfn.describe_state_machine(stateMachineArn=sm)
    check(d["roleArn"] == ROLE and d["tracingConfiguration"] == {"enabled": True}, d)
    check(d["loggingConfiguration"]["level"] == "OFF", d)
    u = sfn.update_state_machine(stateMachineArn=sm, definition=STEPS)
    check(u.get("revisionId") and "stateMachineVersionArn" not in u, u)
    check(sfn.describe_state_machine(stateMachineArn=sm)["revisionId"] == u["revisionId"], "rev")
    code, _ = error_of(sfn.publish_state_machine_version, stateMachineArn=sm, revisionId="stale")
    check(code == "ConflictException", f"stale revisionId: {code}")
    p = sfn.publish_state_machine_version(stateMachineArn=sm, revisionId=u["revisionId"],
                                          description="second")
    check(p["stateMachineVersionArn"] == sm + ":2", p)
    check(isinstance(p["creationDate"], datetime.datetime), p)
    u3 = sfn.update_state_machine(stateMachineArn=sm, definition=three(), publish=True,
                                  versionDescription="third")
    check(u3["stateMachineVersionArn"] == sm + ":3", u3)
    code, _ = error_of(sfn.update_state_machine, stateMachineArn=sm, definition=PASS,
                       versionDescription="no publish")
    check(code == "ValidationException", f"versionDescription without publish: {code}")

    listed = [v["stateMachineVersionArn"]
              for v in sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]]
    check(listed == [sm + ":3", sm + ":2", sm + ":1"], listed)
    pages, token = [], None
    while True:
        kw = {"maxResults": 1} | ({"nextToken": token} if token else {})
        page = sfn.list_state_machine_versions(stateMachineArn=sm, **kw)
        check(len(page["stateMachineVersions"]) <= 1, page)
        pages += [v["stateMachineVersionArn"] for v in page["stateMachineVersions"]]
        token = page.get("nextToken")
        if not token:
            break
    check(pages == listed, pages)
    dv = sfn.describe_state_machine(stateMachineArn=sm + ":1")
    check(dv["stateMachineArn"] == sm + ":1" and dv["description"] == "first", dv)
    check(json.loads(dv["definition"]) == json.loads(PASS), dv)

    # A start on a version runs it, and the execution records it.
    ex = sfn.start_execution(stateMachineArn=sm + ":1", name="on-v1")["executionArn"]
    check(ex == f"arn:aws:states:{REGION}:{account}:execution:ver:on-v1", ex)
    d = wait_status(sfn, ex, "SUCCEEDED")
    check(d["output"] == '{"ok":true}' and d["stateMachineVersionArn"] == sm + ":1", d)
    check(d["stateMachineArn"] == sm and "stateMachineAliasArn" not in d, d)
    f = sfn.describe_state_machine_for_execution(executionArn=ex)
    check(json.loads(f["definition"]) == json.loads(PASS) and f["roleArn"] == ROLE, f)

    a = sfn.create_state_machine_alias(
        name="live", description="prod traffic",
        routingConfiguration=[{"stateMachineVersionArn": sm + ":1", "weight": 100}])
    alias = a["stateMachineAliasArn"]
    check(alias == sm + ":live" and isinstance(a["creationDate"], datetime.datetime), a)
    da = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    check(da["name"] == "live" and da["description"] == "prod traffic", da)
    check(da["routingConfiguration"] == [{"stateMachineVersionArn": sm + ":1", "weight": 100}], da)
    ea = sfn.start_execution(stateMachineArn=alias, name="on-live")["executionArn"]
    d = wait_status(sfn, ea, "SUCCEEDED")
    check(d["stateMachineAliasArn"] == alias and d["stateMachineVersionArn"] == sm + ":1", d)
    of_alias = sfn.list_executions(stateMachineArn=alias)["executions"]
    check([e["executionArn"] for e in of_alias] == [ea], of_alias)
    check(of_alias[0]["stateMachineAliasArn"] == alias, of_alias)
    of_v1 = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=sm + ":1")["executions"]}
    check(of_v1 == {ex, ea}, of_v1)
    check(sfn.list_executions(stateMachineArn=sm + ":2")["executions"] == [], "none on v2")

    up = sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": sm + ":2", "weight": 100}])
    check(isinstance(up["updateDate"], datetime.datetime), up)
    da = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    check(da["routingConfiguration"][0]["stateMachineVersionArn"] == sm + ":2", da)
    aliases = sfn.list_state_machine_aliases(stateMachineArn=sm)["stateMachineAliases"]
    check([x["stateMachineAliasArn"] for x in aliases] == [alias], aliases)
    check(len(sfn.list_state_machine_aliases(stateMachineArn=sm + ":2")["stateMachineAliases"])
          == 1, "aliases of v2")
    check(sfn.list_state_machine_aliases(stateMachineArn=sm + ":1")["stateMachineAliases"] == [],
          "aliases of v1")
    code, _ = error_of(sfn.delete_state_machine_version, stateMachineVersionArn=sm + ":2")
    check(code == "ConflictException", f"deleting a routed-to version: {code}")

    # Alias errors.
    check(error_of(sfn.create_state_machine_alias, name="half", routingConfiguration=[
        {"stateMachineVersionArn": sm + ":1", "weight": 60},
        {"stateMachineVersionArn": sm + ":2", "weight": 30}])[0] == "ValidationException",
        "weights not summing to 100")
    check(error_of(sfn.create_state_machine_alias, name="gone", routingConfiguration=[
        {"stateMachineVersionArn": sm + ":99", "weight": 100}])[0] == "ResourceNotFound",
        "alias to a version that does not exist")
    check(error_of(sfn.create_state_machine_alias, name="123", routingConfiguration=[
        {"stateMachineVersionArn": sm + ":1", "weight": 100}])[0] == "InvalidName",
        "all-digit alias name")
    check(error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=sm + ":nope")[0]
          == "ResourceNotFound", "unknown alias")
    check(error_of(sfn.describe_state_machine_alias, stateMachineAliasArn="not-an-arn")[0]
          == "InvalidArn", "invalid alias ARN")
    check(error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=sm + ":1")[0]
          == "InvalidArn", "a version ARN where an alias ARN belongs")
    check(error_of(sfn.start_execution, stateMachineArn=sm + ":99")[0]
          == "StateMachineDoesNotExist", "start on a version that does not exist")
    check(error_of(sfn.start_execution, stateMachineArn=sm + ":nope")[0]
          == "ResourceNotFound", "start on an alias that does not exist")
    check(error_of(sfn.publish_state_machine_version, stateMachineArn=sm + ":1")[0]
          == "InvalidArn", "publish on a version ARN")
    check(error_of(sfn.list_state_machine_versions, stateMachineArn="arn:aws:states:x")[0]
          == "InvalidArn", "invalid ARN listing versions")

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    check(error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=alias)[0]
          == "ResourceNotFound", "deleted alias")
    sfn.delete_state_machine_version(stateMachineVersionArn=sm + ":2")
    sfn.delete_state_machine_version(stateMachineVersionArn=sm + ":99")  # absent: no error
    listed = [v["stateMachineVersionArn"]
              for v in sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]]
    check(listed == [sm + ":3", sm + ":1"], listed)

    # Tags.
    check(sfn.list_tags_for_resource(resourceArn=sm)["tags"] == [{"key": "team", "value": "core"}],
          "tags from create")
    sfn.tag_resource(resourceArn=sm, tags=[{"key": "env", "value": "prod"},
                                           {"key": "team", "value": "edge"}])
    tags = sorted((t["key"], t["value"]) for t in sfn.list_tags_for_resource(resourceArn=sm)["tags"])
    check(tags == [("env", "prod"), ("team", "edge")], tags)
    sfn.untag_resource(resourceArn=sm, tagKeys=["team", "absent"])
    check(sfn.list_tags_for_resource(resourceArn=sm)["tags"] == [{"key": "env", "value": "prod"}],
          "untag")
    many = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    check(error_of(sfn.tag_resource, resourceArn=sm, tags=many)[0] == "TooManyTags", "51 tags")
    missing = f"arn:aws:states:{REGION}:{account}:stateMachine:missing"
    check(error_of(sfn.list_tags_for_resource, resourceArn=missing)[0] == "ResourceNotFound",
          "tags of an unknown state machine")
    check(error_of(sfn.tag_resource, resourceArn=missing, tags=[{"key": "a", "value": "b"}])[0]
          == "ResourceNotFound", "tag an unknown state machine")
    check(error_of(sfn.untag_resource, resourceArn="bad", tagKeys=["a"])[0] == "InvalidArn",
          "untag an invalid ARN")
    check(error_of(sfn.tag_resource, resourceArn=sm + ":1", tags=[{"key": "a", "value": "b"}])[0]
          == "InvalidArn", "tag a version ARN")

    # Another tenant's ARNs do not exist.
    check(error_of(other.start_execution, stateMachineArn=sm + ":1")[0]
          == "StateMachineDoesNotExist", "other tenant's version")
    check(error_of(other.publish_state_machine_version, stateMachineArn=sm)[0]
          == "StateMachineDoesNotExist", "publish other tenant's state machine")
    check(error_of(other.list_state_machine_versions, stateMachineArn=sm)[0]
          == "StateMachineDoesNotExist", "versions of other tenant's state machine")
    check(error_of(other.describe_state_machine, stateMachineArn=sm + ":1")[0]
          == "StateMachineDoesNotExist", "describe other tenant's version")
    check(error_of(other.describe_state_machine_alias, stateMachineAliasArn=alias)[0]
          == "ResourceNotFound", "other tenant's alias")
    check(error_of(other.create_state_machine_alias, name="steal", routingConfiguration=[
        {"stateMachineVersionArn": sm + ":1", "weight": 100}])[0] == "ResourceNotFound",
        "alias onto other tenant's version")
    check(error_of(other.list_tags_for_resource, resourceArn=sm)[0] == "ResourceNotFound",
          "other tenant's tags")
    check(error_of(other.tag_resource, resourceArn=sm, tags=[{"key": "a", "value": "b"}])[0]
          == "ResourceNotFound", "tag other tenant's state machine")
    other.delete_state_machine_version(stateMachineVersionArn=sm + ":1")  # nothing of theirs
    check(len(sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]) == 2,
          "other tenant deleted nothing")

    # Synchronous EXPRESS on a version: billingDetails from our metering.
    fast = sfn.create_state_machine(name="fast-v", definition=STEPS, roleArn=ROLE,
                                    type="EXPRESS", publish=True)
    s = sfn.start_sync_execution(stateMachineArn=fast["stateMachineVersionArn"])
    check(s["status"] == "SUCCEEDED" and s["output"] == '"done"', s)
    check(s["billingDetails"]["billedMemoryUsedInMB"] % 64 == 0, s)
    check(s["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0, s)
    print("versions, aliases, tags: ok")
    return sm


def alias_routing(sfn):
    """1,000 starts on a 70/30 alias land within +-5 % of the weights."""
    one = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}})
    two = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2, "End": True}}})
    v1 = sfn.create_state_machine(name="split", definition=one, roleArn=ROLE,
                                  publish=True)["stateMachineVersionArn"]
    sm = v1.rsplit(":", 1)[0]
    v2 = sfn.update_state_machine(stateMachineArn=sm, definition=two,
                                  publish=True)["stateMachineVersionArn"]
    alias = sfn.create_state_machine_alias(name="canary", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 70},
        {"stateMachineVersionArn": v2, "weight": 30}])["stateMachineAliasArn"]
    n = 1000
    for _ in range(n):
        sfn.start_execution(stateMachineArn=alias)

    def count(arn):
        return sum(len(p["executions"]) for p in sfn.get_paginator("list_executions")
                   .paginate(stateMachineArn=arn, PaginationConfig={"PageSize": 1000}))

    on_alias, on_v1, on_v2 = count(alias), count(v1), count(v2)
    check(on_alias == n and on_v1 + on_v2 == n, (on_alias, on_v1, on_v2))
    check(abs(on_v1 - 700) <= 50 and abs(on_v2 - 300) <= 50, f"70/30 split gave {on_v1}/{on_v2}")
    print(f"alias routing: {n} starts on a 70/30 alias ran v1 {on_v1} times, v2 {on_v2} times")


def aws_cli(creds, machine):
    """The AWS CLI (v1, botocore) with --endpoint-url; start-sync through the documented
    AWS_DISABLE_HOST_PREFIX_INJECTION switch."""
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["accessKeyId"],
               AWS_SECRET_ACCESS_KEY=creds["secretAccessKey"], AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_MAX_ATTEMPTS="1")

    def cli(*args, extra_env=None):
        out = subprocess.run([aws, "stepfunctions", *args, "--endpoint-url", URL,
                              "--output", "json"], capture_output=True, text=True,
                             env=env | (extra_env or {}), timeout=120)
        check(out.returncode == 0, f"aws {args[0]}: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    listed = cli("list-state-machines")
    check(machine in [m["stateMachineArn"] for m in listed["stateMachines"]], listed)
    made = cli("create-state-machine", "--name", "from-cli", "--definition", STEPS,
               "--role-arn", ROLE, "--type", "EXPRESS")
    run = cli("start-execution", "--state-machine-arn", machine, "--input", '{"cli":true}')
    wait = cli("describe-execution", "--execution-arn", run["executionArn"])
    check(wait["status"] in ("RUNNING", "SUCCEEDED"), wait)
    sync = cli("start-sync-execution", "--state-machine-arn", made["stateMachineArn"],
               "--input", "{}", extra_env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"})
    check(sync["status"] == "SUCCEEDED" and sync["output"] == '"done"', sync)
    cli("delete-state-machine", "--state-machine-arn", made["stateMachineArn"])
    print("aws cli: list, create, start, describe, start-sync, delete ok")

    # Versions, aliases and tags from the CLI.
    vm = cli("create-state-machine", "--name", "cli-ver", "--definition", PASS,
             "--role-arn", ROLE, "--publish", "--version-description", "one",
             "--tags", "key=team,value=cli")
    sm = vm["stateMachineArn"]
    v1 = vm["stateMachineVersionArn"]
    check(v1 == sm + ":1", vm)
    v2 = cli("update-state-machine", "--state-machine-arn", sm, "--definition", STEPS,
             "--publish")["stateMachineVersionArn"]
    check(v2 == sm + ":2", v2)
    v3 = cli("publish-state-machine-version", "--state-machine-arn", sm)
    check(v3["stateMachineVersionArn"] == v2, f"publishing the same revision again: {v3}")
    versions = cli("list-state-machine-versions", "--state-machine-arn", sm)
    check([v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [v2, v1],
          versions)
    routes = json.dumps([{"stateMachineVersionArn": v1, "weight": 50},
                         {"stateMachineVersionArn": v2, "weight": 50}])
    alias = cli("create-state-machine-alias", "--name", "prod", "--routing-configuration",
                routes)["stateMachineAliasArn"]
    check(alias == sm + ":prod", alias)
    cli("update-state-machine-alias", "--state-machine-alias-arn", alias,
        "--description", "half and half")
    da = cli("describe-state-machine-alias", "--state-machine-alias-arn", alias)
    check(da["description"] == "half and half" and len(da["routingConfiguration"]) == 2, da)
    listed = cli("list-state-machine-aliases", "--state-machine-arn", sm)
    check([a["stateMachineAliasArn"] for a in listed["stateMachineAliases"]] == [alias], listed)
    run = cli("start-execution", "--state-machine-arn", alias)["executionArn"]
    d = cli("describe-execution", "--execution-arn", run)
    check(d["stateMachineAliasArn"] == alias and d["stateMachineVersionArn"] in (v1, v2), d)
    on_alias = cli("list-executions", "--state-machine-arn", alias)["executions"]
    check([e["executionArn"] for e in on_alias] == [run], on_alias)
    cli("tag-resource", "--resource-arn", sm, "--tags", "key=env,value=dev")
    tags = cli("list-tags-for-resource", "--resource-arn", sm)["tags"]
    check(sorted(t["key"] for t in tags) == ["env", "team"], tags)
    cli("untag-resource", "--resource-arn", sm, "--tag-keys", "env", "team")
    check(cli("list-tags-for-resource", "--resource-arn", sm)["tags"] == [], "untagged")
    cli("delete-state-machine-alias", "--state-machine-alias-arn", alias)
    cli("delete-state-machine-version", "--state-machine-version-arn", v1)
    versions = cli("list-state-machine-versions", "--state-machine-arn", sm)
    check([v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [v2],
          versions)
    print("aws cli: versions, aliases, tags ok")


def main():
    acme = tenant_with_credentials("acme")
    other = tenant_with_credentials("other")
    sfn = client(acme)
    walk_model(sfn)
    machine, execution = lifecycle(sfn, "acme")
    errors(sfn, acme, machine, execution)
    isolation(client(other), machine, execution)
    versions_aliases_tags(sfn, client(other), "acme")
    alias_routing(sfn)
    aws_cli(acme, machine)
    print(f"boto3 client tests: {CHECKS} checks passed")


if __name__ == "__main__":
    main()

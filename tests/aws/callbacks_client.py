"""boto3, unchanged, completing `.waitForTaskToken` callbacks on a real `stepwasm serve`.

Run by tests/aws_callbacks.rs in phases (argv[1]) around a `kill -9` and restart of the
server; the phases share facts through the JSON file argv[2]. Exits non-zero (with the
failing check printed) on the first thing that does not behave as AWS does.

  start     tenants and credentials, the approval machine, one execution waiting on its token
  finish    (after the restart) refusals by name, SendTaskSuccess, the token used twice
  heartbeat heartbeats keep a task alive, silence fails it with States.HeartbeatTimeout
"""

import base64
import json
import os
import sys
import time
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["STEPWASM_URL"]
ADMIN = os.environ["STEPWASM_ADMIN_KEY"]
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/unused"


def check(cond, what):
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


def client(creds):
    return boto3.client(
        "stepfunctions",
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded, expected an error")


def machine(extra):
    ask = {"Type": "Task", "Resource": "wasm:echo.waitForTaskToken",
           "Parameters": {"order.$": "$.order", "token.$": "$$.Task.Token"},
           "ResultPath": "$.approval", "Next": "Ship"} | extra
    return json.dumps({"StartAt": "Ask", "States": {
        "Ask": ask, "Ship": {"Type": "Pass", "End": True}}})


def events(sfn, arn):
    out, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **kw)
        out += page["events"]
        token = page.get("nextToken")
        if not token:
            return out


def token_of(sfn, arn):
    """The token, read where `$$.Task.Token` put it (TaskScheduled's parameters), once the
    task is submitted."""
    deadline = time.time() + 60
    while time.time() < deadline:
        h = events(sfn, arn)
        if any(e["type"] == "TaskSubmitted" for e in h):
            scheduled = [e for e in h if e["type"] == "TaskScheduled"][-1]
            params = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
            return params["token"]
        time.sleep(0.05)
    raise AssertionError(f"{arn} never submitted its task")


def wait_status(sfn, arn, want, secs=60):
    deadline = time.time() + secs
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] == want:
            return d
        time.sleep(0.05)
    raise AssertionError(f"{arn} never reached {want}: {d['status']}")


def start(facts):
    acme = admin("POST", "/v1/tenants/acme/aws-credentials")
    other = admin("POST", "/v1/tenants/other/aws-credentials")
    sfn = client(acme)
    sm = sfn.create_state_machine(name="approve", definition=machine({}), roleArn=ROLE)
    ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="order-42",
                             input=json.dumps({"order": 42}))
    token = token_of(sfn, ex["executionArn"])
    types = [e["type"] for e in events(sfn, ex["executionArn"])]
    check(types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                    "TaskSubmitted"], types)
    check(sfn.describe_execution(executionArn=ex["executionArn"])["status"] == "RUNNING", "waits")
    facts.update(acme=acme, other=other, arn=ex["executionArn"], token=token,
                 machine=sm["stateMachineArn"])


def finish(facts):
    sfn, theirs = client(facts["acme"]), client(facts["other"])
    token, arn = facts["token"], facts["arn"]
    # Another tenant's key cannot use the token, nor learn that its task exists.
    code = error_of(theirs.send_task_success, taskToken=token, output='{"approved": true}')
    check(code == "TaskDoesNotExist", f"another tenant's token: {code}")
    code = error_of(theirs.send_task_heartbeat, taskToken=token)
    check(code == "TaskDoesNotExist", f"another tenant's heartbeat: {code}")
    # Not a token this server issued; an output that is not JSON.
    code = error_of(sfn.send_task_success, taskToken="not-a-token", output="{}")
    check(code == "InvalidToken", f"garbage token: {code}")
    # The same execution and frame with another secret: a guess, not the task's token.
    frame, secret, execution = base64.urlsafe_b64decode(token + "==").decode().split(":", 2)
    other = ("0" if secret[0] != "0" else "1") + secret[1:]
    guessed = base64.urlsafe_b64encode(f"{frame}:{other}:{execution}".encode()).decode()
    code = error_of(sfn.send_task_success, taskToken=guessed.rstrip("="), output="{}")
    check(code in ("InvalidToken", "TaskTimedOut"), f"a token with its secret changed: {code}")
    # Another execution's ARN in it: no such task.
    forged = base64.urlsafe_b64encode(f"{frame}:{secret}:{execution}x".encode()).decode()
    code = error_of(sfn.send_task_success, taskToken=forged.rstrip("="), output="{}")
    check(code == "TaskDoesNotExist", f"a token naming no execution: {code}")
    code = error_of(sfn.send_task_success, taskToken=token, output="{not json")
    check(code == "InvalidOutput", f"bad output: {code}")
    check(sfn.describe_execution(executionArn=arn)["status"] == "RUNNING", "still waiting")
    # The approval, after the restart, with the token the first server issued.
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    d = wait_status(sfn, arn, "SUCCEEDED")
    check(json.loads(d["output"]) == {"order": 42, "approval": {"approved": True}}, d)
    types = [e["type"] for e in events(sfn, arn)]
    check(types.count("TaskSucceeded") == 1 and types[-1] == "ExecutionSucceeded", types)
    # Used twice: refused, and nothing changes.
    for call, kw in [(sfn.send_task_success, {"output": "{}"}),
                     (sfn.send_task_failure, {"error": "E", "cause": "c"}),
                     (sfn.send_task_heartbeat, {})]:
        code = error_of(call, taskToken=token, **kw)
        check(code == "TaskTimedOut", f"{call.__name__} with a used token: {code}")
    check([e["type"] for e in events(sfn, arn)] == types, "a used token changed nothing")

    # SendTaskFailure goes through Catch.
    caught = json.dumps({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "wasm:echo.waitForTaskToken",
                "Parameters": {"token.$": "$$.Task.Token"},
                "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why",
                           "Next": "Denied"}], "End": True},
        "Denied": {"Type": "Pass", "End": True}}})
    sm = sfn.create_state_machine(name="reject", definition=caught, roleArn=ROLE)
    ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input="{}")
    t = token_of(sfn, ex["executionArn"])
    sfn.send_task_failure(taskToken=t, error="Rejected", cause="no budget")
    d = wait_status(sfn, ex["executionArn"], "SUCCEEDED")
    check(json.loads(d["output"])["why"] == {"Error": "Rejected", "Cause": "no budget"}, d)
    code = error_of(sfn.send_task_success, taskToken=t, output="{}")
    check(code == "TaskTimedOut", f"after a failure: {code}")


def heartbeat(facts):
    sfn = client(facts["acme"])
    sm = sfn.create_state_machine(name="beats", roleArn=ROLE,
                                  definition=machine({"HeartbeatSeconds": 2}))
    ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], input='{"order": 1}')
    arn = ex["executionArn"]
    token = token_of(sfn, arn)
    # Heartbeats every second keep it waiting past its HeartbeatSeconds.
    began = time.time()
    while time.time() - began < 5:
        sfn.send_task_heartbeat(taskToken=token)
        time.sleep(1)
    check(sfn.describe_execution(executionArn=arn)["status"] == "RUNNING", "kept alive")
    # Then silence: States.HeartbeatTimeout.
    d = wait_status(sfn, arn, "FAILED", secs=30)
    check(d.get("error") == "States.HeartbeatTimeout", d)
    h = events(sfn, arn)
    timed = [e for e in h if e["type"] == "TaskTimedOut"]
    check(len(timed) == 1 and
          timed[0]["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout", h[-3:])
    code = error_of(sfn.send_task_success, taskToken=token, output="{}")
    check(code == "TaskTimedOut", f"after its heartbeat timeout: {code}")


def main():
    phase, path = sys.argv[1], sys.argv[2]
    facts = json.load(open(path)) if os.path.exists(path) else {}
    {"start": start, "finish": finish, "heartbeat": heartbeat}[phase](facts)
    with open(path, "w") as f:
        json.dump(facts, f)
    print(f"callbacks {phase}: ok")


if __name__ == "__main__":
    main()

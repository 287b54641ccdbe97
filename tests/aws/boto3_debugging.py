"""Issue 13's debugging tools through boto3, unchanged, against a real `stepwasm serve`.

Run by tests/aws_clients.rs in two phases around a `kill -9` of the server:

  before-kill: TestState at each inspection level (AWS's documented examples, a mocked
               Task, the real `flaky` component), a mocked run from Step Functions Local's
               MockConfigFile example (`NAME#TestCase`), a one-hour Wait under
               `--wait-time-scale 0.0005`, redrive of a failed Map (only the failed items
               run again) and of a failed Parallel (only the failed branch), and a Map left
               FAILED for the second phase.
  after-kill:  the Map left FAILED is redriven on the restarted server and succeeds, the
               items that had succeeded not running again.

The server runs with `--wait-time-scale 0.0005 --mock-config tests/fixtures/sfn-local-mock/
MockConfigFile.json`; tenant `acme` exists with the `flaky` guest uploaded. Environment:
STEPWASM_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, STEPWASM_FIXTURES.
"""

import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["STEPWASM_URL"]
REGION = "us-east-1"
ACCOUNT = "acme"
ROLE = "arn:aws:iam::123456789012:role/unused"
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)


def client():
    return boto3.client(
        "stepfunctions",
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        # TestState carries the `sync-` host prefix in AWS's model.
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded, expected an error")


def machine_arn(name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def execution_arn(machine, name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"


def wait_end(sfn, arn, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.1)
    raise AssertionError(f"{arn} still RUNNING after {timeout} s")


def history(sfn, arn):
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [e for p in pages for e in p["events"]]


def guest_calls(events):
    """Calls of the `flaky` guest that succeeded, before and after the first
    ExecutionRedriven: each answers `{"succeeded_on_retry": N, "state": ...}`, the output of
    its TaskSucceeded event. (Its log lines ride in a Stepwasm extension field, `logs`, that
    botocore drops as it is not in AWS's model.)"""
    at = next((i for i, e in enumerate(events) if e["type"] == "ExecutionRedriven"), len(events))

    def count(es):
        return sum(1 for e in es if e["type"] == "TaskSucceeded"
                   and "succeeded_on_retry" in e["taskSucceededEventDetails"]["output"])

    return count(events[:at]), count(events[at:])


# ---- TestState -----------------------------------------------------------------------

def test_state(sfn):
    # AWS's "Using TestState API to test a state", example 1: INFO on a Choice state.
    choice = {"Type": "Choice", "Choices": [
        {"Variable": "$.number", "NumericEquals": 1, "Next": "Equals 1"},
        {"Variable": "$.number", "NumericEquals": 2, "Next": "Equals 2"}],
        "Default": "No Match"}
    r = sfn.test_state(definition=json.dumps(choice), roleArn=ROLE, input='{"number": 2}')
    check(r["status"] == "SUCCEEDED" and r["nextState"] == "Equals 2", r)
    check(json.loads(r["output"]) == {"number": 2}, r)
    check("inspectionData" not in r, r)

    # Example 2: DEBUG on a Pass state, with the data flow the page shows.
    pass_state = {"Type": "Pass", "InputPath": "$.payload", "Parameters": {"data": 1},
                  "ResultPath": "$.result", "OutputPath": "$.result.data", "Next": "Another State"}
    r = sfn.test_state(definition=json.dumps(pass_state), roleArn=ROLE,
                       input='{"payload": {"foo": "bar"}}', inspectionLevel="DEBUG")
    check(r["status"] == "SUCCEEDED" and r["nextState"] == "Another State", r)
    check(json.loads(r["output"]) == 1, r)
    data = {k: json.loads(v) for k, v in r["inspectionData"].items()}
    check(data == {
        "input": {"payload": {"foo": "bar"}},
        "afterInputPath": {"foo": "bar"},
        "afterParameters": {"data": 1},
        "afterResultSelector": {"data": 1},
        "afterResultPath": {"payload": {"foo": "bar"}, "result": {"data": 1}},
    }, data)

    # A Task answered by `mock` (AWS's mocking example): result, then error.
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "process-order"}, "End": True}
    result = {"orderId": "12345", "status": "processed"}
    r = sfn.test_state(definition=json.dumps(task), inspectionLevel="DEBUG",
                       mock={"result": json.dumps(result)})
    check(r["status"] == "SUCCEEDED" and json.loads(r["output"]) == result, r)
    check(json.loads(r["inspectionData"]["afterParameters"]) == {"FunctionName": "process-order"}, r)
    check(json.loads(r["inspectionData"]["result"]) == result, r)
    r = sfn.test_state(definition=json.dumps(task),
                       mock={"errorOutput": {"error": "Lambda.ServiceException", "cause": "Function failed"}})
    check((r["status"], r["error"], r["cause"]) == ("FAILED", "Lambda.ServiceException", "Function failed"), r)
    retried = dict(task, Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3}])
    r = sfn.test_state(definition=json.dumps(retried), inspectionLevel="DEBUG",
                       mock={"errorOutput": {"error": "Boom", "cause": "c"}})
    check(r["status"] == "RETRIABLE", r)
    check(r["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}, r)
    caught = dict(task, Catch=[{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handle"}])
    r = sfn.test_state(definition=json.dumps(caught), mock={"errorOutput": {"error": "Boom", "cause": "c"}})
    check((r["status"], r["nextState"]) == ("CAUGHT_ERROR", "Handle"), r)
    check(json.loads(r["output"]) == {"err": {"Error": "Boom", "Cause": "c"}}, r)

    # TRACE: one state of a whole machine (stateName), run by the real component.
    machine = {"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "wasm:flaky", "Parameters": {"id.$": "$.id"},
                 "ResultPath": "$.out", "Next": "After"},
        "After": {"Type": "Succeed"}}}
    r = sfn.test_state(definition=json.dumps(machine), stateName="Call", input='{"id": 7}',
                       inspectionLevel="TRACE")
    check(r["status"] == "SUCCEEDED" and r["nextState"] == "After", r)
    out = json.loads(r["output"])
    check(out["id"] == 7 and out["out"]["state"] == "Call", out)
    req, resp = r["inspectionData"]["request"], r["inspectionData"]["response"]
    check(req["url"] == "wasm:flaky" and json.loads(req["body"]) == {"id": 7}, req)
    check(resp["statusCode"] == "200" and "flaky: attempt 0" in resp["headers"], resp)
    # Bad requests are AWS's named exceptions.
    check(error_code(sfn.test_state, definition='{"Type": "Pass", "Next": 5}') == "InvalidDefinition", "bad def")
    check(error_code(sfn.test_state, definition=json.dumps(pass_state), input="{not json")
          == "InvalidExecutionInput", "bad input")
    check(error_code(sfn.test_state, definition=json.dumps(task), mock={"result": "{"})
          == "ValidationException", "bad mock")
    print("TestState: INFO, DEBUG, TRACE, mocks ok")


# ---- Mocked runs and time control ------------------------------------------------------

def mocked_run(sfn):
    fixtures = os.environ["STEPWASM_FIXTURES"]
    with open(os.path.join(fixtures, "sfn-local-mock", "LambdaSQSIntegration.json")) as f:
        definition = f.read()
    sfn.create_state_machine(name="LambdaSQSIntegration", definition=definition, roleArn=ROLE)
    for case, failures in [("HappyPath", []), ("RetryPath", [
            "Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"])]:
        # As Step Functions Local: the test case rides on the state machine ARN.
        started = sfn.start_execution(stateMachineArn=machine_arn("LambdaSQSIntegration") + "#" + case,
                                      name=case)
        check(started["executionArn"] == execution_arn("LambdaSQSIntegration", case), started)
        d = wait_end(sfn, started["executionArn"])
        check(d["status"] == "SUCCEEDED", d)
        check(json.loads(d["output"])["MessageId"] == "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51", d)
        failed = [e["taskFailedEventDetails"]["error"] for e in history(sfn, started["executionArn"])
                  if e["type"] == "TaskFailed"]
        check(failed == failures, (case, failed))
    code = error_code(sfn.start_execution, stateMachineArn=machine_arn("LambdaSQSIntegration") + "#NoSuchCase")
    check(code == "ValidationException", code)
    print("mocked runs: HappyPath, RetryPath ok")


def one_hour_wait(sfn):
    definition = {"StartAt": "Hour", "States": {"Hour": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    sfn.create_state_machine(name="hour", definition=json.dumps(definition), roleArn=ROLE)
    began = time.time()
    arn = sfn.start_execution(stateMachineArn=machine_arn("hour"))["executionArn"]
    d = wait_end(sfn, arn, timeout=30)
    took = time.time() - began
    check(d["status"] == "SUCCEEDED", d)
    events = history(sfn, arn)
    at = {e["type"]: e["timestamp"] for e in events}
    waited = (at["WaitStateExited"] - at["WaitStateEntered"]).total_seconds()
    # 3600 s x 0.0005 = 1.8 s.
    check(1.5 <= waited < 2.0, waited)
    print(f"one-hour Wait: {waited:.3f} s in the history, {took:.2f} s end to end")


# ---- Redrive -------------------------------------------------------------------------

# Five items, one at a time; items 3 and 4 fail while the execution has not been
# redriven ($$.Execution.RedriveCount is 0) and one failure is tolerated, so the Map fails.
MAP = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ToleratedFailureCount": 1,
    "ItemProcessor": {"StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Choices": [{"And": [
            {"Variable": "$.bad", "BooleanEquals": True},
            {"Variable": "$$.Execution.RedriveCount", "NumericEquals": 0}],
            "Next": "Break"}], "Default": "Call"},
        "Break": {"Type": "Task", "Resource": "wasm:flaky",
                  "Parameters": {"error": "Item.Bad", "cause.$": "States.Format('item {}', $.id)"},
                  "End": True},
        "Call": {"Type": "Task", "Resource": "wasm:flaky", "Parameters": {"id.$": "$.id"},
                 "ResultPath": "$.called", "OutputPath": "$.id", "End": True}}},
    "End": True}}}
MAP_INPUT = json.dumps({"items": [{"id": i, "bad": i >= 3} for i in range(5)]})

# Two branches: the first calls the guest and succeeds; the second waits (4000 s, 2 s at the
# server's scale, so the first is done by then) and fails until redriven.
PARALLEL = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
    {"StartAt": "Good", "States": {"Good": {"Type": "Task", "Resource": "wasm:flaky",
                                            "Parameters": {"id": 1}, "OutputPath": "$.state", "End": True}}},
    {"StartAt": "Pause", "States": {
        "Pause": {"Type": "Wait", "Seconds": 4000, "Next": "Gate"},
        "Gate": {"Type": "Choice", "Choices": [{"Variable": "$$.Execution.RedriveCount",
                                                "NumericEquals": 0, "Next": "Fail"}],
                 "Default": "Late"},
        "Fail": {"Type": "Task", "Resource": "wasm:flaky", "Parameters": {"error": "Branch.Bad"}, "End": True},
        "Late": {"Type": "Task", "Resource": "wasm:flaky", "Parameters": {"id": 2},
                 "OutputPath": "$.state", "End": True}}}]}}}


def failed_map(sfn, name):
    arn = sfn.start_execution(stateMachineArn=machine_arn("batch"), name=name, input=MAP_INPUT)["executionArn"]
    d = wait_end(sfn, arn)
    check((d["status"], d["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold"), d)
    check(d["redriveCount"] == 0 and d["redriveStatus"] == "REDRIVABLE", d)
    check("redriveDate" not in d, d)
    return arn


def redrive_and_finish(sfn, arn):
    r = sfn.redrive_execution(executionArn=arn)
    check(hasattr(r["redriveDate"], "timestamp"), r)
    d = wait_end(sfn, arn)
    check(d["status"] == "SUCCEEDED", d)
    check(d["redriveCount"] == 1 and d["redriveDate"] == r["redriveDate"], d)
    check(d["redriveStatus"] == "NOT_REDRIVABLE" and "SUCCEEDED" in d["redriveStatusReason"], d)
    events = history(sfn, arn)
    redriven = [e for e in events if e["type"] == "ExecutionRedriven"]
    check(len(redriven) == 1 and redriven[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}, redriven)
    check([e["id"] for e in events] == list(range(1, len(events) + 1)), "event ids are dense")
    return d, events


def redrive(sfn):
    sfn.create_state_machine(name="batch", definition=json.dumps(MAP), roleArn=ROLE)
    arn = failed_map(sfn, "run1")
    d, events = redrive_and_finish(sfn, arn)
    check(json.loads(d["output"]) == [0, 1, 2, 3, 4], d)
    # Items 0-2 ran once, before the redrive; only items 3 and 4 ran after it.
    check(guest_calls(events) == (3, 2), guest_calls(events))
    # AWS's rules: a SUCCEEDED, a RUNNING or an unknown execution is not redriven.
    check(error_code(sfn.redrive_execution, executionArn=arn) == "ExecutionNotRedrivable", "succeeded")
    sfn.create_state_machine(name="slow", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10000000, "End": True}}}))
    slow = sfn.start_execution(stateMachineArn=machine_arn("slow"))["executionArn"]
    check(error_code(sfn.redrive_execution, executionArn=slow) == "ExecutionNotRedrivable", "running")
    check(sfn.describe_execution(executionArn=slow)["redriveStatus"] == "NOT_REDRIVABLE", "running status")
    check(error_code(sfn.redrive_execution, executionArn=execution_arn("batch", "nope"))
          == "ExecutionDoesNotExist", "unknown")
    check(error_code(sfn.redrive_execution, executionArn="not-an-arn") == "InvalidArn", "bad arn")
    # An ABORTED execution is redrivable (its Wait starts again).
    sfn.stop_execution(executionArn=slow)
    d = sfn.describe_execution(executionArn=slow)
    check((d["status"], d["redriveStatus"]) == ("ABORTED", "REDRIVABLE"), d)
    sfn.redrive_execution(executionArn=slow)
    check(sfn.describe_execution(executionArn=slow)["status"] == "RUNNING", "aborted redriven")
    sfn.stop_execution(executionArn=slow)
    # EXPRESS executions are never redrivable.
    express = sfn.create_state_machine(name="fast", type="EXPRESS", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}))["stateMachineArn"]
    done = sfn.start_sync_execution(stateMachineArn=express)
    check(error_code(sfn.redrive_execution, executionArn=done["executionArn"]) == "ExecutionNotRedrivable",
          "express")

    # Parallel: only the failed branch runs again.
    sfn.create_state_machine(name="both", definition=json.dumps(PARALLEL), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine_arn("both"), name="p1")["executionArn"]
    d = wait_end(sfn, arn)
    check((d["status"], d["error"]) == ("FAILED", "Branch.Bad"), d)
    d, events = redrive_and_finish(sfn, arn)
    check(json.loads(d["output"]) == ["Good", "Late"], d)
    check(guest_calls(events) == (1, 1), guest_calls(events))

    # ListExecutions' redriveFilter.
    listed = sfn.list_executions(stateMachineArn=machine_arn("batch"), redriveFilter="REDRIVEN")
    check([e["name"] for e in listed["executions"]] == ["run1"], listed)
    check(listed["executions"][0]["redriveCount"] == 1, listed)
    print("redrive: Map, Parallel, AWS's rules ok")


def before_kill(sfn):
    test_state(sfn)
    mocked_run(sfn)
    one_hour_wait(sfn)
    redrive(sfn)
    # Left FAILED for the phase after the kill.
    failed_map(sfn, "run2")


def after_kill(sfn):
    arn = execution_arn("batch", "run2")
    d = sfn.describe_execution(executionArn=arn)
    check((d["status"], d["redriveStatus"]) == ("FAILED", "REDRIVABLE"), d)
    d, events = redrive_and_finish(sfn, arn)
    check(json.loads(d["output"]) == [0, 1, 2, 3, 4], d)
    check(guest_calls(events) == (3, 2), guest_calls(events))
    listed = sfn.list_executions(stateMachineArn=machine_arn("batch"), redriveFilter="NOT_REDRIVEN")
    check(listed["executions"] == [], listed)
    print("redrive after kill -9 ok")


def main():
    sfn = client()
    {"before-kill": before_kill, "after-kill": after_kill}[sys.argv[1]](sfn)
    print(f"boto3 debugging tests ({sys.argv[1]}): {CHECKS} checks passed")


if __name__ == "__main__":
    main()

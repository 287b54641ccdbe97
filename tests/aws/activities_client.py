"""boto3 activity workers, unchanged, against a real `stepwasm serve` that is killed with -9
while they work.

Run by tests/aws_clients.rs in roles (argv[1]); facts are shared through files in the
directory argv[2]:

  setup   N   an activity, a state machine whose Task is that activity, N executions
  worker  I   polls GetActivityTask as worker I, completes each task with SendTaskSuccess,
              appends what it received to worker-I.log; rides out server restarts (the
              server's current URL is in url.txt); stops when the file `stop` exists
  verify  N   every execution SUCCEEDED, each task completed exactly once
"""

import json
import os
import sys
import time
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config
from botocore.exceptions import ClientError

ADMIN = os.environ["STEPWASM_ADMIN_KEY"]
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/unused"
# The server is down for a moment at each restart: transport errors are retried.
DOWN = (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
        botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Server:
    """A boto3 client that follows the server to its new URL after a restart."""

    def __init__(self, root):
        self.root, self.url, self.sfn = root, None, None
        self.creds = json.load(open(os.path.join(root, "creds.json")))

    def client(self):
        url = open(os.path.join(self.root, "url.txt")).read().strip()
        if url != self.url:
            self.url = url
            self.sfn = boto3.client(
                "stepfunctions", endpoint_url=url, region_name=REGION,
                aws_access_key_id=self.creds["accessKeyId"],
                aws_secret_access_key=self.creds["secretAccessKey"],
                config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                              read_timeout=75, connect_timeout=2))
        return self.sfn

    def call(self, op, **kw):
        while True:
            try:
                return getattr(self.client(), op)(**kw)
            except DOWN:
                time.sleep(0.2)


def setup(root, n):
    url = open(os.path.join(root, "url.txt")).read().strip()
    req = urllib.request.Request(url + "/v1/tenants/acme/aws-credentials", method="POST",
                                 headers={"Authorization": "Bearer " + ADMIN})
    with urllib.request.urlopen(req) as r:
        json.dump(json.loads(r.read()), open(os.path.join(root, "creds.json"), "w"))
    s = Server(root)
    act = s.call("create_activity", name="pack")["activityArn"]
    check(s.call("create_activity", name="pack")["activityArn"] == act, "idempotent create")
    check(s.call("describe_activity", activityArn=act)["name"] == "pack", "describe")
    names = [a["name"] for a in s.call("list_activities")["activities"]]
    check(names == ["pack"], names)
    definition = json.dumps({"StartAt": "Pack", "States": {"Pack": {
        "Type": "Task", "Resource": act, "HeartbeatSeconds": 30, "TimeoutSeconds": 600,
        # A hand-off whose reply the kill lost times out and is handed out again.
        "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1,
                   "MaxAttempts": 5}],
        "End": True}}})
    sm = s.call("create_state_machine", name="orders", definition=definition,
                roleArn=ROLE)["stateMachineArn"]
    for i in range(n):
        s.call("start_execution", stateMachineArn=sm, name=f"order-{i}",
               input=json.dumps({"id": i}))
    json.dump({"activity": act, "machine": sm}, open(os.path.join(root, "setup.json"), "w"))
    print(f"setup: {n} executions started")


def worker(root, me):
    s = Server(root)
    act = json.load(open(os.path.join(root, "setup.json")))["activity"]
    log = open(os.path.join(root, f"worker-{me}.log"), "a", buffering=1)
    while not os.path.exists(os.path.join(root, "stop")):
        task = s.call("get_activity_task", activityArn=act, workerName=f"worker-{me}")
        token = task.get("taskToken")
        if not token:
            continue
        item = json.loads(task["input"])["id"]
        log.write(f"received {item}\n")
        output = json.dumps({"id": item, "worker": me})
        try:
            s.call("send_task_success", taskToken=token, output=output)
            log.write(f"done {item}\n")
        except ClientError as e:
            # Completed by a call whose reply a kill lost: the retry finds it closed.
            code = e.response["Error"]["Code"]
            log.write(f"refused {item} {code}\n")


def verify(root, n):
    s = Server(root)
    sm = json.load(open(os.path.join(root, "setup.json")))["machine"]
    deadline = time.time() + 600
    while True:
        done = sum(len(p["executions"]) for p in s.client().get_paginator("list_executions")
                   .paginate(stateMachineArn=sm, statusFilter="SUCCEEDED"))
        if done == n:
            break
        check(time.time() < deadline, f"only {done} of {n} executions succeeded")
        time.sleep(1)
    received = {}
    for name in os.listdir(root):
        if name.startswith("worker-"):
            for line in open(os.path.join(root, name)):
                kind, item = line.split()[:2]
                if kind == "received":
                    received.setdefault(int(item), []).append(name)
    lost = 0
    for i in range(n):
        arn = sm.replace(":stateMachine:", ":execution:") + f":order-{i}"
        d = s.call("describe_execution", executionArn=arn)
        check(d["status"] == "SUCCEEDED", d)
        out = json.loads(d["output"])
        check(out["id"] == i, out)
        events = s.call("get_execution_history", executionArn=arn, maxResults=1000)["events"]
        types = [e["type"] for e in events]
        check(types.count("ActivitySucceeded") == 1, (i, types))
        started = types.count("ActivityStarted")
        got = received.get(i, [])
        # Every hand-off the server recorded reached at most one worker, and a task went
        # to a second worker only after its first hand-off was lost in a kill (the worker
        # never got it, so it timed out and was handed out again).
        check(1 <= len(got) <= started, (i, got, types))
        if len(got) > 1 or started > 1:
            check("ActivityTimedOut" in types, (i, got, types))
            lost += 1
        workers = [e["activityStartedEventDetails"].get("workerName") for e in events
                   if e["type"] == "ActivityStarted"]
        check(f"worker-{out['worker']}" in workers, (i, out, workers))
    print(f"verify: {n} tasks completed exactly once; {lost} hand-offs lost to a kill and "
          f"handed out again")


def main():
    role, root = sys.argv[1], sys.argv[2]
    arg = int(sys.argv[3])
    {"setup": setup, "worker": worker, "verify": verify}[role](root, arg)


if __name__ == "__main__":
    main()

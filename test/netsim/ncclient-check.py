# python3-ncclient (Debian; run with /usr/bin/python3), an independent NETCONF client, against
# netsim. Each scenario uses a device of its own and records what it saw; the vitest side judges.
#   ncclient-check.py CONTROL_URL HOST USER PASSWORD PORT_BOTH PORT_ONLY10 PORT...   -> JSON on stdout
import json
import sys
import time
import urllib.request

from ncclient import manager
from ncclient.operations.rpc import RPCError
from ncclient.transport.session import NetconfBase

control, host, user, password = sys.argv[1:5]
ports = [int(p) for p in sys.argv[5:]]
LAB = "urn:nvo3:lab"
out = {}


def connect(port):
    return manager.connect(host=host, port=port, username=user, password=password, hostkey_verify=False,
                           look_for_keys=False, allow_agent=False, timeout=60)


def post(path, body):
    req = urllib.request.Request(control + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def vlans(*ids):
    return '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><nvo xmlns="%s">%s</nvo></config>' % (
        LAB, "".join("<vlan><id>%d</id></vlan>" % i for i in ids))


def running_ids(m):
    data = m.get_config(source="running", filter=("subtree", '<nvo xmlns="%s"/>' % LAB)).data_ele
    return sorted(int(e.text) for e in data.iter("{%s}id" % LAB))


def error(e):
    return {"type": e.type, "tag": e.tag, "severity": e.severity, "app_tag": e.app_tag, "path": e.path,
            "message": e.message, "info": e.info}


def wait_until(check, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def scenario(name):
    def run(fn):
        try:
            out[name] = fn(ports.pop(0))
        except Exception as e:  # noqa: BLE001 - the report says what failed
            out[name] = {"exception": "%s: %s" % (type(e).__name__, e)}
    return run


@scenario("hello")
def _(port):
    with connect(port) as m:
        return {"session_id": m.session_id, "base11": m._session._base == NetconfBase.BASE_11,
                "capabilities": sorted(m.server_capabilities)}


@scenario("hello10")
def _(port):
    with connect(port) as m:
        m.edit_config(target="candidate", config=vlans(10))
        m.commit()
        return {"base11": m._session._base == NetconfBase.BASE_11, "running": running_ids(m)}


@scenario("edit_commit_readback")
def _(port):
    with connect(port) as m:
        m.lock("candidate")
        m.edit_config(target="candidate", config=vlans(10, 20))
        before = running_ids(m)
        m.commit()
        m.unlock("candidate")
        return {"before": before, "after": running_ids(m)}


@scenario("lock_contention")
def _(port):
    with connect(port) as a, connect(port) as b:
        a.lock("candidate")
        try:
            b.lock("candidate")
            return {"denied": None}
        except RPCError as e:
            return {"holder": a.session_id, "denied": error(e)}


@scenario("confirmed_timeout")
def _(port):
    with connect(port) as m:
        m.edit_config(target="candidate", config=vlans(1))
        m.commit()
        m.edit_config(target="candidate", config=vlans(2))
        m.commit(confirmed=True, timeout="1")
        during = running_ids(m)
        rolled = wait_until(lambda: running_ids(m) == [1])
        return {"during": during, "rolled_back": rolled, "after": running_ids(m)}


@scenario("confirmed_close")
def _(port):
    a = connect(port)
    a.edit_config(target="candidate", config=vlans(3))
    a.commit(confirmed=True, timeout="600")
    with connect(port) as b:
        during = running_ids(b)
        a.close_session()
        rolled = wait_until(lambda: running_ids(b) == [])
        return {"during": during, "rolled_back": rolled}


@scenario("rpc_error")
def _(port):
    with connect(port) as m:
        try:
            m.edit_config(target="candidate", config=vlans(5000))
            return {"error": None}
        except RPCError as e:
            return {"error": error(e)}


@scenario("commit_delay")
def _(port):
    post("/settings", {"device": port, "commitDelayMs": 500})
    with connect(port) as m:
        m.edit_config(target="candidate", config=vlans(7))
        t0 = time.monotonic()
        m.commit()
        return {"seconds": time.monotonic() - t0}


@scenario("refuse_commit")
def _(port):
    post("/faults", {"device": port, "kind": "refuse-commit", "error": {"tag": "in-use", "message": "commit in progress"}})
    with connect(port) as m:
        m.edit_config(target="candidate", config=vlans(8))
        try:
            m.commit()
            refused = None
        except RPCError as e:
            refused = error(e)
        running = running_ids(m)
        m.commit()
        return {"refused": refused, "running_after_refusal": running, "running_after_retry": running_ids(m)}


@scenario("drop_session")
def _(port):
    m = connect(port)
    post("/faults", {"device": port, "kind": "drop-session"})
    try:
        m.get_config(source="running")
        result = {"dropped": False}
    except Exception as e:  # noqa: BLE001 - whatever ncclient raises for a lost session
        result = {"dropped": True, "error": type(e).__name__, "connected": m.connected}
    with connect(port) as again:
        result["next_session_works"] = running_ids(again) == []
    return result


print(json.dumps(out))

#!/usr/bin/python3
"""An independent gateway agent for nvo's XMPP push protocol (docs/xmpp.md), written with Debian's
python3-slixmpp and run with /usr/bin/python3 by test/drivers/xmpp/slixmpp.test.ts.

It announces revision 0 to the controller, then answers each push from the controller with
<applied revision=.../> or, for the revisions named with --refuse REV=CONDITION/TYPE, with that IQ
error. Every push it gets is printed as one JSON line (parsed here with ElementTree, not by nvo), so
the test can compare what arrived with what was sent.
"""
import argparse
import json
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS = "urn:nvo:push:1"


def say(**event):
    print(json.dumps(event), flush=True)


def entries(parent):
    out = []
    if parent is None:
        return out
    for child in parent:
        out.append({"kind": child.tag.split("}")[-1], **child.attrib})
    return out


class Gateway(slixmpp.ClientXMPP):
    def __init__(self, jid, password, controller, refuse):
        super().__init__(jid, password)
        self.controller = controller
        self.refuse = refuse
        self.revision = 0
        self.register_handler(Callback("nvo push", MatchXPath("{jabber:client}iq/{%s}push" % NS), self.on_push))
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", lambda _e: (say(event="failed-auth"), sys.exit(2)))

    async def on_start(self, _event):
        iq = self.make_iq_set(ito=self.controller)
        iq.xml.append(ET.Element("{%s}announce" % NS, {"revision": str(self.revision)}))
        try:
            await iq.send(timeout=10)
            say(event="announced", revision=self.revision)
        except Exception as e:  # noqa: BLE001 - reported, the peer keeps running
            say(event="announce-failed", error=str(e))
        say(event="online", jid=str(self.boundjid))

    def on_push(self, iq):
        push = iq.xml.find("{%s}push" % NS)
        sender = iq["from"].bare
        revision = push.get("revision")
        say(event="push", sender=sender, base=push.get("base"), revision=revision,
            merge=entries(push.find("{%s}merge" % NS)), remove=entries(push.find("{%s}remove" % NS)))
        reply = iq.reply(clear=True)
        if sender != self.controller.split("/")[0]:
            reply.error()
            reply["error"]["type"] = "auth"
            reply["error"]["condition"] = "forbidden"
            reply["error"]["text"] = "only the controller may push"
        elif revision in self.refuse:
            condition, etype = self.refuse[revision]
            reply.error()
            reply["error"]["type"] = etype
            reply["error"]["condition"] = condition
            reply["error"]["text"] = "slixmpp peer refuses revision %s on demand" % revision
            reply["error"].xml.append(ET.Element("{%s}bad-value" % NS, {"field": "push@revision"}))
        else:
            self.revision = int(revision)
            reply.xml.append(ET.Element("{%s}applied" % NS, {"revision": revision}))
        reply.send()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--controller", required=True, help="full JID of the controller")
    ap.add_argument("--refuse", action="append", default=[], help="REV=CONDITION/TYPE")
    a = ap.parse_args()
    refuse = {}
    for r in a.refuse:
        rev, rest = r.split("=", 1)
        condition, etype = rest.split("/", 1)
        refuse[rev] = (condition, etype)
    gw = Gateway(a.jid, a.password, a.controller, refuse)
    # Loopback only: the test server offers no TLS, so allow PLAIN without it.
    gw["feature_mechanisms"].unencrypted_plain = True
    gw.connect(address=(a.host, a.port), force_starttls=False, disable_starttls=True)
    gw.process(forever=True)


if __name__ == "__main__":
    main()

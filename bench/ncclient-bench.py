# The python3-ncclient side of `npm run bench:netconf`: N sequential edit-config + commit round
# trips against one netconfd, latencies in ms as JSON. Run with /usr/bin/python3 (Debian's ncclient).
#   ncclient-bench.py HOST PORT USER PASSWORD N
import json
import sys
import time

from ncclient import manager

host, port, user, password, n = sys.argv[1:6]
lat = []
with manager.connect(host=host, port=int(port), username=user, password=password,
                     hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=60) as m:
    for i in range(int(n)):
        t0 = time.perf_counter()
        m.edit_config(target="candidate", config=f'<config><nvo xmlns="urn:nvo3:lab"><vlan><id>300</id><name>ncclient-{i}</name></vlan></nvo></config>')
        m.commit()
        lat.append((time.perf_counter() - t0) * 1000)
print(json.dumps(lat))

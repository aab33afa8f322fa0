# Independent read-back for the NETCONF tests: python3-ncclient (Debian) fetches nvo's part of the
# running datastore and prints the <data> element. Run with /usr/bin/python3.
#   ncclient-get.py HOST PORT USER PASSWORD FILTER
import sys

from ncclient import manager

host, port, user, password, subtree = sys.argv[1:6]
with manager.connect(host=host, port=int(port), username=user, password=password,
                     hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=60) as m:
    print(m.get_config(source="running", filter=("subtree", subtree)).data_xml)

"""The baseline: the least a script must do to fetch one job with requests and print it."""

import json
import sys

import requests

url, token = sys.argv[1], sys.argv[2]
response = requests.get(url, headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30)
response.raise_for_status()
print(json.dumps(response.json(), separators=(",", ":")))

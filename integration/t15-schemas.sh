#!/bin/bash
# t15-schemas: what artsync writes conforms to the JSON Schemas it ships.
#
# state.json, each snapshots/<V>.state.json and .manifest.json, and a
# secondary's release and upstream records are validated against
# schemas/state.schema.json and schemas/manifest.schema.json with an
# independent validator (python3-jsonschema, Draft 2020-12); a schema that
# accepted anything would fail the last test.
. "$(dirname "$0")/lib.sh"

# Debian's python3 carries python3-jsonschema (scripts/deps installs it).
py=python3
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null && py=/usr/bin/python3

# conforms SCHEMA FILE...: every FILE validates against schemas/SCHEMA.
# Manifests are one JSON object per line: each line is validated.
conforms() {
	schema=$REPO/schemas/$1
	shift
	"$py" - "$schema" "$@" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
bad = 0
for f in sys.argv[2:]:
    if sys.argv[1].endswith("manifest.schema.json"):
        docs = [json.loads(l) for l in open(f, "rb").read().splitlines()]
    else:
        docs = [json.load(open(f))]
    for i, d in enumerate(docs):
        for e in v.iter_errors(d):
            print("%s:%d: %s at %s" % (f, i + 1, e.message,
                                       list(e.absolute_path)))
            bad += 1
sys.exit(1 if bad else 0)
PY
}

test_expect_success 'setup: three versions, one secondary applying them' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	rm src/api/HelloWorld.xml &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	make_artifact sequences Added m1 &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	start_secondary s1 --sync-root sync --deploy-root dep --poll-ms 100 \
		--listen 127.0.0.1:0 &&
	wait_for 20 "test \"\$(current_version dep)\" = 3"
'

test_expect_success 'state.json and every state copy conform' '
	conforms state.schema.json sync/state.json sync/snapshots/*.state.json
'

test_expect_success 'every snapshot manifest, full and delta, conforms' '
	ls sync/snapshots/*.delta.json >/dev/null &&
	conforms manifest.schema.json sync/snapshots/*.manifest.json \
		sync/snapshots/*.delta.json
'

test_expect_success 'release and upstream records conform' '
	conforms manifest.schema.json dep/releases/*.json dep/upstream/*.json
'

test_expect_success 'the schemas refuse what the readers refuse' '
	"$py" -c "import json; s = json.load(open(\"sync/state.json\")); \
s[\"files\"][1][\"name\"] = \"../../etc/passwd\"; \
json.dump(s, open(\"bad-state.json\", \"w\"))" &&
	"$py" -c "import json; l = open(\"sync/snapshots/1.manifest.json\").read().splitlines(); \
a = json.loads(l[1]); a[\"xxh128\"] = \"ABC\"; l[1] = json.dumps(a); \
open(\"bad-manifest.json\", \"w\").write(\"\\n\".join(l) + \"\\n\")" &&
	! conforms state.schema.json bad-state.json &&
	! conforms manifest.schema.json bad-manifest.json
'

# The failover's format 4 (docs/failover.md): epoch, seal and coordinator
# required there and nowhere else; an expiry optional.
test_expect_success 'a failover state (format 4) conforms; its members elsewhere do not' '
	"$py" -c "import json; s = json.load(open(\"sync/state.json\")); \
s[\"format\"] = 4; s[\"epoch\"] = 3; s[\"epoch_base_version\"] = 1; \
s[\"ha\"] = \"shared\"; json.dump(s, open(\"s4.json\", \"w\")); \
del s[\"epoch\"]; json.dump(s, open(\"s4-no-epoch.json\", \"w\")); \
s[\"epoch\"] = 3; s[\"format\"] = 2; json.dump(s, open(\"s2-epoch.json\", \"w\"))" &&
	conforms state.schema.json s4.json &&
	! conforms state.schema.json s4-no-epoch.json &&
	! conforms state.schema.json s2-epoch.json
'

finish

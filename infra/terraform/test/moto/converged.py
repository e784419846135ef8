"""Checks that a plan of an applied deployment changes nothing but moto's known gaps.

Usage: converged.py PLAN.json (the JSON of `terraform show -json` of the second plan).

moto 5.2 does not store or return a few attributes that the AWS provider sets, so the provider
plans to set them again on every run. Those (resource type, attribute) pairs are listed below; any
other change, and any create, replace or destroy, means the apply did not converge and fails.
"""

import json
import sys

# (resource type) -> attributes moto loses, with why.
KNOWN_GAPS = {
    # CreateStream's Tags are not stored by moto; ListTagsForStream returns none.
    "aws_kinesis_stream": {"tags_all"},
    # DescribeServices omits enableECSManagedTags and availabilityZoneRebalancing.
    "aws_ecs_service": {"enable_ecs_managed_tags", "availability_zone_rebalancing"},
}


def changed_attributes(change):
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    keys = set(before) | set(after) | set(unknown)
    return sorted(k for k in keys if unknown.get(k) is True or before.get(k) != after.get(k))


def main(path):
    with open(path) as f:
        plan = json.load(f)
    problems, tolerated = [], []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        if actions != ["update"]:
            problems.append(f"{rc['address']}: {'/'.join(actions)}")
            continue
        attrs = changed_attributes(rc["change"])
        extra = [a for a in attrs if a not in KNOWN_GAPS.get(rc["type"], set())]
        if extra:
            problems.append(f"{rc['address']}: update of {', '.join(extra)}")
        else:
            tolerated.append(f"{rc['address']}: {', '.join(attrs)}")
    for t in tolerated:
        print(f"known moto gap, tolerated: {t}")
    for p in problems:
        print(f"NOT CONVERGED: {p}")
    if problems:
        return 1
    print("converged: no changes besides known moto gaps")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

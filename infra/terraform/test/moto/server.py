"""moto_server with two gaps of moto 5.2 filled, for infra/terraform's offline test.

1. Application Auto Scaling has no tagging calls. The AWS provider reads the tags of every
   aws_appautoscaling_target (ListTagsForResource) and retries moto's "not implemented" 500 until
   its timeout, so autoscaling could never be applied. This adds ListTagsForResource, TagResource
   and UntagResource (tags kept in memory, also those passed to RegisterScalableTarget).
2. S3 GetBucketNotificationConfiguration omits EventBridgeConfiguration although
   PutBucketNotificationConfiguration stores it, so `eventbridge = true` would read back as false
   (a perpetual diff, and the assertion could not see it). This adds the element when it is set.

Each patch applies only while moto lacks the feature. Then it runs moto's own server entry point
with the same arguments as moto_server (-H HOST -p PORT).
"""

import json
import sys
import threading

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.s3.responses import S3Response
from moto.server import main

_tags: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def _list_tags_for_resource(self):
    arn = self._get_param("ResourceARN")
    with _lock:
        return json.dumps({"Tags": dict(_tags.get(arn, {}))})


def _tag_resource(self):
    arn = self._get_param("ResourceARN")
    with _lock:
        _tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self):
    arn = self._get_param("ResourceARN")
    with _lock:
        for key in self._get_param("TagKeys") or []:
            _tags.get(arn, {}).pop(key, None)
    return "{}"


def _with_tags(register):
    def register_scalable_target(self):
        body = register(self)
        arn = json.loads(body).get("ScalableTargetARN")
        if arn:
            with _lock:
                _tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
        return body

    return register_scalable_target


if not hasattr(ApplicationAutoScalingResponse, "list_tags_for_resource"):
    ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource
    ApplicationAutoScalingResponse.tag_resource = _tag_resource
    ApplicationAutoScalingResponse.untag_resource = _untag_resource
    ApplicationAutoScalingResponse.register_scalable_target = _with_tags(
        ApplicationAutoScalingResponse.register_scalable_target
    )

def _with_eventbridge(serialized):
    def wrapper(self, action_result):
        if self.data.get("Action") == "GetBucketNotificationConfiguration":
            result = action_result.result
            if isinstance(result, dict) and "EventBridgeConfiguration" not in result:
                conf = self.backend.get_bucket_notification_configuration(self.bucket_name)
                if conf is not None and getattr(conf, "event_bridge", None) is not None:
                    result["EventBridgeConfiguration"] = {}
        return serialized(self, action_result)

    return wrapper


S3Response.serialized = _with_eventbridge(S3Response.serialized)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

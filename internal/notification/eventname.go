package notification

import (
	"strings"

	"github.com/shardline/shardline/internal/envelope"
)

// classify maps an S3 eventName, with any "s3:" prefix already removed, to the envelope op it
// implies, or to the skip reason when it implies none. Names are those of the S3 notification
// documentation plus MinIO's extensions.
func classify(name string) (op, skipReason string) {
	family, action, _ := strings.Cut(name, ":")
	switch family {
	case "ObjectCreated":
		switch action {
		case "PutRetention", "PutLegalHold", "PutTagging", "DeleteTagging":
			// MinIO files these metadata-only changes under ObjectCreated; the content, and so
			// the derived output, is unchanged.
			return "", ReasonNotObjectEvent
		}
		return envelope.OpPut, ""
	case "ObjectRemoved", // Delete, DeleteMarkerCreated; MinIO: DeleteAllVersions, NoOP
		"LifecycleExpiration",          // Delete, DeleteMarkerCreated: raise no ObjectRemoved event
		"LifecycleDelMarkerExpiration": // MinIO
		return envelope.OpDelete, ""
	case "ObjectRestore", "Replication", "ObjectTagging", "ObjectAcl", "LifecycleTransition",
		"IntelligentTiering", "ReducedRedundancyLostObject",
		"ObjectAccessed", "ObjectTransition", "Scanner", "BucketCreated", "BucketRemoved": // MinIO
		return "", ReasonNotObjectEvent
	}
	return "", ReasonUnknownEventName
}

// supportedEventVersion reports whether an S3 record's eventVersion is 2 or 2.<minor>: the minor
// versions only add fields.
func supportedEventVersion(v string) bool {
	major, minor, hasMinor := strings.Cut(v, ".")
	if major != "2" {
		return false
	}
	if !hasMinor {
		return true
	}
	if minor == "" {
		return false
	}
	for i := 0; i < len(minor); i++ {
		if minor[i] < '0' || minor[i] > '9' {
			return false
		}
	}
	return true
}

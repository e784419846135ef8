// Package bucket validates S3 bucket names and holds the allow-list of input
// buckets that the forwarder and the worker accept events for.
//
// Both sides refuse an event whose bucket is not a valid S3 bucket name (an
// ARN or access-point alias in a bucket field included: the SDK would treat it
// as an access point and read somewhere else) or is not on the allow-list.
package bucket

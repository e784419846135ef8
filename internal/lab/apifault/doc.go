// Package apifault is a fault-injecting HTTP reverse proxy for one AWS service endpoint (S3,
// Kinesis or DynamoDB) of the local stack. It is lab code for the chaos and benchmark harnesses:
// the production packages never import it.
//
// A shardline process is pointed at the proxy with AWS_ENDPOINT_URL_<SERVICE>; the proxy names
// each call's operation (X-Amz-Target for the JSON protocols, method, path and query for S3),
// draws a fault for it from a seeded random source, and then either forwards the call untouched
// (same Host header, same streamed body, so SigV4 signatures stay valid) or injects what AWS
// would do:
//
//   - throttling with the wire-accurate error body of the service's protocol (Kinesis and
//     DynamoDB JSON, S3 XML), so the SDK classifies it exactly as it classifies AWS's own;
//   - internal server errors (500) in the same forms;
//   - connection resets before the call is forwarded (RST via SO_LINGER 0);
//   - lost responses: the call is forwarded and completes upstream (a write commits), then the
//     client's connection is reset without a reply, so the client retries something that
//     already happened;
//   - latency: a base plus jitter on every call and a heavy (Pareto) tail on a fraction of them,
//     the same for every operation or set per operation (Config.OpLatency).
//
// In latency-only mode (Config.LatencyOnly) the proxy injects latency and nothing else, for
// benchmarks. Counts of what was injected, per service, operation and kind, are available as a
// snapshot for reports and, optionally, as Prometheus counters on an injected registry.
//
// The Kinesis client of the aws-sdk-go-v2 version in go.mod speaks awsJson1_1 (service/kinesis
// api_client.go: awsjson.New11), not Smithy RPC v2 CBOR; Operation also recognises the RPC v2
// path form (/service/<name>/operation/<op>) and injected errors for such calls are CBOR
// encoded, so an SDK upgrade does not silently turn injected errors into garbage.
package apifault

package deploytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
)

// outputs is `terraform output -json`: name -> {"value": ...}.
type outputs map[string]struct {
	Value json.RawMessage `json:"value"`
}

func (o outputs) str(t *testing.T, name string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(o[name].Value, &s); err != nil {
		t.Fatalf("output %s is not a string: %v (%s)", name, err, o[name].Value)
	}
	return s
}

func (o outputs) num(t *testing.T, name string) int {
	t.Helper()
	var n int
	if err := json.Unmarshal(o[name].Value, &n); err != nil {
		t.Fatalf("output %s is not a number: %v", name, err)
	}
	return n
}

func (o outputs) into(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(o[name].Value, v); err != nil {
		t.Fatalf("output %s: %v", name, err)
	}
}

func (o outputs) isNull(name string) bool {
	v, ok := o[name]
	return !ok || string(v.Value) == "null"
}

// env is what every test needs: the outputs, the SDK config pointing at moto, a raw client.
type env struct {
	out    outputs
	cfg    aws.Config
	raw    *rawClient
	region string
	ctx    context.Context
}

// setup skips the test unless SHARDLINE_INFRA_OUTPUTS is set and SHARDLINE_INFRA_EXPECT is want.
func setup(t *testing.T, want string) *env {
	t.Helper()
	path := os.Getenv("SHARDLINE_INFRA_OUTPUTS")
	if path == "" {
		t.Skip("SHARDLINE_INFRA_OUTPUTS not set: run `make infra-test`")
	}
	expect := os.Getenv("SHARDLINE_INFRA_EXPECT")
	if expect == "" {
		expect = "deployed"
	}
	if expect != want {
		t.Skipf("SHARDLINE_INFRA_EXPECT=%s", expect)
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL must name the moto_server the deployment was applied to")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out outputs
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	region := out.str(t, "region")
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return &env{out: out, cfg: cfg, region: region, ctx: ctx, raw: &rawClient{endpoint: endpoint, cfg: cfg}}
}

// rawClient makes SigV4-signed calls for the services whose SDK modules are not dependencies of
// this module (IAM, Lambda, ECS, Application Auto Scaling, CloudWatch). moto_server routes a
// request by the service in its signature.
type rawClient struct {
	endpoint string
	cfg      aws.Config
}

// call sends one request and returns the body; a status of 300 or more is an *httpError.
func (c *rawClient) call(ctx context.Context, service, method, path string, header http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, c.cfg.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return data, &httpError{status: resp.StatusCode, body: string(data)}
	}
	return data, nil
}

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.status, e.body) }

// query calls an AWS Query API (IAM, CloudWatch) and decodes the XML answer into v.
func (c *rawClient) query(ctx context.Context, service, version, action string, params url.Values, v any) error {
	form := url.Values{"Action": {action}, "Version": {version}}
	for k, vs := range params {
		form[k] = vs
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	data, err := c.call(ctx, service, http.MethodPost, "/", h, []byte(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s %s: %w", service, action, err)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: decode: %w", service, action, err)
	}
	return nil
}

// jsonRPC calls an AWS JSON 1.1 API (ECS, Application Auto Scaling) and decodes the answer into v.
func (c *rawClient) jsonRPC(ctx context.Context, service, target string, in, v any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {target}}
	data, err := c.call(ctx, service, http.MethodPost, "/", h, body)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: decode: %w", target, err)
	}
	return nil
}

// rest calls a REST JSON API (Lambda) and decodes the answer into v.
func (c *rawClient) rest(ctx context.Context, service, path string, v any) error {
	data, err := c.call(ctx, service, http.MethodGet, path, nil, nil)
	if err != nil {
		return fmt.Errorf("%s GET %s: %w", service, path, err)
	}
	return json.Unmarshal(data, v)
}

// policyJSON undoes the URL encoding IAM applies to policy documents (moto may not apply it).
func policyJSON(doc string) (string, error) {
	doc = strings.TrimSpace(doc)
	if strings.HasPrefix(doc, "{") {
		return doc, nil
	}
	return url.QueryUnescape(doc)
}

// statement is the part of an IAM statement the scope checks read.
type statement struct {
	Effect    string          `json:"Effect"`
	Action    json.RawMessage `json:"Action"`
	Resource  json.RawMessage `json:"Resource"`
	Principal json.RawMessage `json:"Principal"`
}

func statements(t *testing.T, doc string) []statement {
	t.Helper()
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	var l []statement
	if bytes.HasPrefix(bytes.TrimSpace(raw.Statement), []byte("{")) {
		var s statement
		if err := json.Unmarshal(raw.Statement, &s); err != nil {
			t.Fatal(err)
		}
		return []statement{s}
	}
	if err := json.Unmarshal(raw.Statement, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func list(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	_ = json.Unmarshal(raw, &l)
	return l
}

// grants maps resource -> set of allowed actions over the Allow statements of docs.
func grants(t *testing.T, docs ...string) map[string]map[string]bool {
	t.Helper()
	g := map[string]map[string]bool{}
	for _, d := range docs {
		for _, s := range statements(t, d) {
			if s.Effect != "Allow" {
				continue
			}
			for _, r := range list(s.Resource) {
				if g[r] == nil {
					g[r] = map[string]bool{}
				}
				for _, a := range list(s.Action) {
					g[r][a] = true
				}
			}
		}
	}
	return g
}

func keys(m map[string]bool) []string {
	var l []string
	for k := range m {
		l = append(l, k)
	}
	return l
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

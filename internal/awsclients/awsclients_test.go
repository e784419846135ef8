package awsclients

import (
	"context"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

func TestLoadConnectionPool(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want int
	}{
		{name: "default", opts: Options{Region: "us-east-1"}, want: DefaultMaxIdleConnsPerHost},
		{name: "explicit", opts: Options{Region: "us-east-1", MaxIdleConnsPerHost: 7}, want: 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A custom CA bundle makes the SDK rebuild the transport: the pool must survive it.
			t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
			c, err := Load(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			bc, ok := c.Config.HTTPClient.(*awshttp.BuildableClient)
			if !ok {
				t.Fatalf("HTTP client is %T, want *awshttp.BuildableClient", c.Config.HTTPClient)
			}
			tr := bc.GetTransport()
			if tr.MaxIdleConnsPerHost != tc.want {
				t.Errorf("MaxIdleConnsPerHost = %d, want %d", tr.MaxIdleConnsPerHost, tc.want)
			}
			if tr.MaxIdleConns < 3*tc.want {
				t.Errorf("MaxIdleConns = %d, want at least %d", tr.MaxIdleConns, 3*tc.want)
			}
			if tr.TLSClientConfig == nil || tr.TLSClientConfig.RootCAs == nil {
				t.Error("custom CA bundle not applied to the transport")
			}
		})
	}
}

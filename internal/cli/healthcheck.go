package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheckFlags declares the container health check: the final image has no shell or curl,
// so ECS runs the binary itself. It touches nothing but the URL. It fails (exit 1) unless the
// endpoint answers 2xx, and also when a 2xx body says {"live": false}; a failure message carries
// the reason the endpoint gives (the telemetry.Status JSON of /healthz and /readyz).
func healthcheckFlags(fs *flag.FlagSet) Action {
	var (
		url     string
		timeout time.Duration
	)
	fs.StringVar(&url, "url", "http://127.0.0.1:9102/healthz", "health endpoint to probe; 2xx is healthy")
	fs.DurationVar(&timeout, "timeout", 3*time.Second, "bound on the probe")
	return Action{Run: func(ctx context.Context, _ *Session) error { return probe(ctx, url, timeout) }}
}

// probe GETs url within timeout: nil on a 2xx answer whose body does not say it is not live.
func probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: --url %q: %v", errUsage, url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var st struct { // telemetry.Status, with Live optional: any 2xx body passes unless it says not live
		Live   *bool  `json:"live"`
		Reason string `json:"reason"`
	}
	jsonErr := json.Unmarshal(body, &st)
	switch {
	case resp.StatusCode/100 != 2 && jsonErr == nil && st.Reason != "":
		return fmt.Errorf("%s: %s: %s", url, resp.Status, st.Reason)
	case resp.StatusCode/100 != 2:
		return errors.New(url + ": " + resp.Status)
	case jsonErr == nil && st.Live != nil && !*st.Live:
		return fmt.Errorf("%s: not live: %s", url, st.Reason)
	}
	return nil
}

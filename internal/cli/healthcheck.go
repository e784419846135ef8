package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck is the container health check: the final image has no shell or curl, so ECS
// runs the binary itself. It touches nothing but the URL.
func runHealthcheck(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	var (
		url     string
		timeout time.Duration
	)
	fs.StringVar(&url, "url", "http://127.0.0.1:9102/healthz", "health endpoint to probe; 2xx is healthy")
	durationFlag(fs, &timeout, "timeout", 3*time.Second, "bound on the probe")
	if err := parse(fs, args, env); err != nil {
		return err
	}
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
	if resp.StatusCode/100 != 2 {
		return errors.New(url + ": " + resp.Status)
	}
	return nil
}

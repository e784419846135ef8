package demo

import (
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/lab/proc"
)

// Keys of the two bad inputs and the dead-letter reasons they must get.
const (
	corruptKey = "broken/truncated.jpg"
	textKey    = "notes/hello.txt"
)

// scenario is what the demo does to the input bucket.
type scenario struct {
	s3     *s3.Client
	bucket string
	photos []string
	out    io.Writer

	ops      int               // S3 operations done (each yields one notification)
	keys     []string          // keys uploaded
	deleted  []string          // keys deleted at the end
	reput    map[string]string // key → photo re-uploaded over it
	bad      map[string]string // key → expected dead-letter reason
	resentOK int
}

func keyOf(path string) string {
	return "mate/" + filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
}

func contentType(path string) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(path))); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (s *scenario) run(ctx context.Context) error {
	// 1. Upload every photo, four at a time.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, p := range s.photos {
		s.keys = append(s.keys, keyOf(p))
		g.Go(func() error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return putObject(gctx, s.s3, s.bucket, keyOf(p), data, contentType(p))
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.ops += len(s.photos)
	fmt.Fprintf(s.out, "  uploaded %d photos\n", len(s.photos))

	// 2. Re-upload three keys with another photo's content.
	s.reput = map[string]string{}
	for i := 0; i < 3; i++ {
		key, other := s.keys[i*2], s.photos[len(s.photos)-1-i]
		if filepath.Ext(other) != filepath.Ext(key) {
			other = s.photos[i*2+1]
		}
		data, err := os.ReadFile(other)
		if err != nil {
			return err
		}
		if err := putObject(ctx, s.s3, s.bucket, key, data, contentType(other)); err != nil {
			return err
		}
		s.reput[key] = other
		s.ops++
	}
	fmt.Fprintf(s.out, "  re-uploaded %d keys with new content\n", len(s.reput))

	// 3. Delete three other keys.
	for i := 0; i < 3; i++ {
		key := s.keys[len(s.keys)-1-i*3]
		if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		s.deleted = append(s.deleted, key)
		s.ops++
	}
	fmt.Fprintf(s.out, "  deleted %d keys\n", len(s.deleted))

	// 4. Upload a truncated JPEG and a text file.
	jpeg, err := os.ReadFile(firstWithExt(s.photos, ".jpg"))
	if err != nil {
		return err
	}
	if err := putObject(ctx, s.s3, s.bucket, corruptKey, jpeg[:len(jpeg)/3], "image/jpeg"); err != nil {
		return err
	}
	if err := putObject(ctx, s.s3, s.bucket, textKey, []byte("hello, this is not an image\n"), "text/plain"); err != nil {
		return err
	}
	s.ops += 2
	s.bad = map[string]string{corruptKey: "corrupt_image", textKey: "not_an_image"}
	fmt.Fprintln(s.out, "  uploaded a truncated JPEG and a text file")
	return nil
}

// resend posts captured notifications straight to the forwarder again: three exact duplicates
// and, for a re-uploaded key, its first (now older) notification. It returns the number of
// events resent.
func (s *scenario) resend(ctx context.Context, url, token string, bodies []captured) (int, error) {
	events, dups := 0, 0
	sentStale := false
	for _, c := range bodies {
		if len(c.events) != 1 {
			continue
		}
		ev := c.events[0]
		_, isReput := s.reput[ev.Key]
		switch {
		case isReput && !sentStale && ev.Op == "put" && s.isFirstPut(bodies, c):
			sentStale = true
		case !isReput && dups < 3 && ev.Op == "put" && s.bad[ev.Key] == "":
			dups++
		default:
			continue
		}
		if err := proc.PostJSON(ctx, url, token, c.body); err != nil {
			return events, fmt.Errorf("resend %s: %w", ev.Key, err)
		}
		events++
	}
	fmt.Fprintf(s.out, "  resent %d notifications (%d duplicates, %d older than its successor)\n", events, dups, b2i(sentStale))
	return events, nil
}

// isFirstPut reports whether c is the earliest notification of its key among bodies.
func (s *scenario) isFirstPut(bodies []captured, c captured) bool {
	for _, o := range bodies {
		if len(o.events) == 1 && o.events[0].Key == c.events[0].Key && o.events[0].Sequencer < c.events[0].Sequencer {
			return false
		}
	}
	return true
}

func firstWithExt(paths []string, ext string) string {
	for _, p := range paths {
		if strings.EqualFold(filepath.Ext(p), ext) {
			return p
		}
	}
	return paths[0]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

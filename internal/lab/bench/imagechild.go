package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"

	"github.com/disintegration/imaging"

	"github.com/shardline/shardline/internal/grayscale"
)

// ChildCommand, as the bench binary's first argument, makes it run RunImageChild instead of the
// table: the image section measures each mode in a process of its own so that the process's peak
// RSS and CPU time belong to that mode alone. It is not a user-facing command.
const ChildCommand = "image-child"

// Image modes run in child processes.
const (
	// modeImaging is the straightforward path: imaging.Decode → imaging.Grayscale → imaging.Encode.
	modeImaging = "imaging"
	// modeOurs is grayscale.Convert, the handler's image path.
	modeOurs = "ours"
)

// childResult is what a child prints on stdout, as JSON.
type childResult struct {
	Files    int   `json:"files"`
	Pixels   int64 `json:"pixels"`
	OutBytes int64 `json:"outBytes"`
}

// RunImageChild converts every file named in args with one mode (flags -mode, -quality,
// -passes) and writes a JSON summary to out. Each file is read just before it is converted and
// dropped after, so the process's peak memory is that of the largest conversion.
func RunImageChild(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	mode := fs.String("mode", "", "imaging or ours")
	quality := fs.Int("quality", DefaultJPEGQuality, "JPEG output quality")
	passes := fs.Int("passes", 1, "times to convert every file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var convert func(data []byte) ([]byte, error)
	switch *mode {
	case modeImaging:
		convert = func(data []byte) ([]byte, error) { return straightforward(data, *quality) }
	case modeOurs:
		convert = func(data []byte) ([]byte, error) {
			b, _, err := grayscale.Convert(ctx, data, *quality)
			return b, err
		}
	default:
		return fmt.Errorf("%s: unknown -mode %q", ChildCommand, *mode)
	}
	if fs.NArg() == 0 || *passes < 1 {
		return fmt.Errorf("%s: need files and -passes ≥ 1", ChildCommand)
	}
	var res childResult
	for range *passes {
		for _, name := range fs.Args() {
			data, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			b, err := convert(data)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", name, *mode, err)
			}
			if len(b) == 0 {
				return fmt.Errorf("%s: %s: empty output", name, *mode)
			}
			res.Files++
			res.Pixels += int64(cfg.Width) * int64(cfg.Height)
			res.OutBytes += int64(len(b))
		}
	}
	return json.NewEncoder(out).Encode(res)
}

// straightforward is the image path of issue 5's baseline: decode to whatever the decoder gives,
// convert every pixel with imaging.Grayscale (an NRGBA image) and encode that, JPEG as JPEG and
// everything else as PNG (the handler's output formats).
func straightforward(data []byte, quality int) ([]byte, error) {
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, err
	}
	_, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	f := imaging.PNG
	if format == "jpeg" {
		f = imaging.JPEG
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, imaging.Grayscale(img), f, imaging.JPEGQuality(quality)); err != nil {
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, errors.New("empty output")
	}
	return buf.Bytes(), nil
}

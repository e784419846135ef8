//go:build !(turbojpeg && cgo)

package grayscale

import (
	"context"
	"errors"
)

// turboBuilt reports whether this binary has the libjpeg-turbo path (build tag turbojpeg, cgo).
const turboBuilt = false

// turboGray is the libjpeg-turbo lossless grayscale transform, absent from this build.
func turboGray(context.Context, []byte, int64) ([]byte, error) {
	return nil, errors.New("grayscale: built without the turbojpeg tag")
}

// Package schema holds the published JSON Schema (draft 2020-12) of the envelope's wire form,
// schema version 1, and validates records against it. The schema file,
// envelope-v1.schema.json next to this file, is the contract other producers and consumers
// read; docs/envelope.md describes it and its evolution rules.
//
// Tests and tools import this package; the production binaries do not, so the validator is not
// part of what runs in production (the worker's own check is envelope.Decode).
package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed envelope-v1.schema.json
var v1 []byte

// V1ID is the $id of the version 1 schema.
const V1ID = "https://github.com/shardline/shardline/blob/main/internal/envelope/schema/envelope-v1.schema.json"

// ErrInvalid is wrapped by every error Validate returns for a record the schema rejects or that
// is not JSON.
var ErrInvalid = errors.New("envelope does not match schema version 1")

// V1 returns a copy of the version 1 schema document (envelope-v1.schema.json).
func V1() []byte { return bytes.Clone(v1) }

// Validator checks records against the version 1 schema, with "format" asserted (eventTime and
// forwardedAt must be RFC 3339 date-times). It is safe for concurrent use.
type Validator struct {
	schema *jsonschema.Schema
}

// NewValidator compiles the embedded version 1 schema.
func NewValidator() (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v1))
	if err != nil {
		return nil, fmt.Errorf("envelope schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(V1ID, doc); err != nil {
		return nil, fmt.Errorf("envelope schema: %w", err)
	}
	s, err := c.Compile(V1ID)
	if err != nil {
		return nil, fmt.Errorf("envelope schema: %w", err)
	}
	return &Validator{schema: s}, nil
}

// Validate returns nil if data is one JSON document that the version 1 schema accepts. Otherwise
// the error wraps ErrInvalid and, when the document parsed, a *jsonschema.ValidationError that
// names every failing keyword and location.
func (v *Validator) Validate(data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %w", ErrInvalid, err)
	}
	if err := v.schema.Validate(inst); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

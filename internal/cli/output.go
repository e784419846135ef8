package cli

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
)

// finish ends an operations command once it has printed its result: the run's error joined
// with the printing's, else the exit status the result asks for (status, when set: nil, or an
// exitAttention error).
func finish(runErr, printErr error, status func() error) error {
	if err := errors.Join(printErr, runErr); err != nil {
		return err
	}
	if status == nil {
		return nil
	}
	return status()
}

// opsJSON writes v as JSON, indented or on one line, for every --json output: a nil list or map
// prints as [] or {}, never null, so that a script can iterate what it reads without a check.
func opsJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return enc.Encode(v)
	}
	return enc.Encode(emptyNotNil(rv).Interface())
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// emptyNotNil returns a copy of v in which every nil slice and map reachable through exported
// fields, pointers, slices and maps is empty instead. Types that marshal themselves (time.Time)
// are kept as they are.
func emptyNotNil(v reflect.Value) reflect.Value {
	t := v.Type()
	for _, m := range []reflect.Type{jsonMarshalerType, textMarshalerType} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return v
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return v
		}
		inner := emptyNotNil(v.Elem())
		if v.Kind() == reflect.Interface {
			return inner
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(inner)
		return p
	case reflect.Slice:
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(emptyNotNil(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), emptyNotNil(it.Value()))
		}
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v)
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out.Field(i).Set(emptyNotNil(v.Field(i)))
			}
		}
		return out
	}
	return v
}

func opsIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// opsPlural is "1 noun" or "n nouns".
func opsPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// render prints an operations command's result: as indented JSON with asJSON, else the text
// that text builds.
func render(w io.Writer, asJSON bool, v any, text func(b *strings.Builder) error) error {
	if asJSON {
		return opsJSON(w, v, true)
	}
	return writeText(w, text)
}

// writeText writes the text that text builds, whole, or nothing when text fails.
func writeText(w io.Writer, text func(b *strings.Builder) error) error {
	var b strings.Builder
	if err := text(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes a header and rows, their cells separated by tabs, as columns two spaces apart.
func table(b *strings.Builder, header string, rows func(tw io.Writer)) error {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

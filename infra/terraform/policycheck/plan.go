package policycheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Plan is the part of Terraform's JSON plan representation that the checks read.
type Plan struct {
	FormatVersion   string           `json:"format_version"`
	ResourceChanges []ResourceChange `json:"resource_changes"`
	Configuration   struct {
		RootModule ConfigModule `json:"root_module"`
	} `json:"configuration"`
}

// ResourceChange is one entry of a plan's resource_changes.
type ResourceChange struct {
	Address       string          `json:"address"`
	ModuleAddress string          `json:"module_address"`
	Mode          string          `json:"mode"`
	Type          string          `json:"type"`
	Name          string          `json:"name"`
	Index         json.RawMessage `json:"index"`
	Change        struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown any            `json:"after_unknown"`
	} `json:"change"`
}

// ConfigModule is a module of the plan's configuration section.
type ConfigModule struct {
	Resources   []ConfigResource      `json:"resources"`
	ModuleCalls map[string]ModuleCall `json:"module_calls"`
}

// ModuleCall is a module block of the configuration.
type ModuleCall struct {
	Module ConfigModule `json:"module"`
}

// ConfigResource is a resource block of the configuration.
type ConfigResource struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	// Expressions maps an argument to its expression ({"references": [...]} or
	// {"constant_value": ...}), or a nested block to a list of such maps.
	Expressions map[string]json.RawMessage `json:"expressions"`
}

// ParsePlan decodes the JSON of `terraform show -json PLANFILE`.
func ParsePlan(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("plan JSON: %w", err)
	}
	if p.FormatVersion == "" {
		return nil, fmt.Errorf("plan JSON: no format_version (is this `terraform show -json PLANFILE` output?)")
	}
	return &p, nil
}

// live reports whether the resource exists after the change (it is not being destroyed).
func (rc *ResourceChange) live() bool {
	if rc.Mode != "managed" || rc.Change.After == nil {
		return false
	}
	for _, a := range rc.Change.Actions {
		if a == "create" || a == "update" || a == "no-op" {
			return true
		}
	}
	return false
}

// str returns a known string attribute, or "" and false.
func (rc *ResourceChange) str(attr string) (string, bool) {
	s, ok := rc.Change.After[attr].(string)
	return s, ok
}

// boolean returns a known bool attribute, or false and false.
func (rc *ResourceChange) boolean(attr string) (bool, bool) {
	b, ok := rc.Change.After[attr].(bool)
	return b, ok
}

// unknown reports whether the value at path is only known after apply.
func (rc *ResourceChange) unknown(path ...any) bool {
	v := rc.Change.AfterUnknown
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return v == true
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok {
				return v == true
			}
			if k >= len(l) {
				return false
			}
			v = l[k]
		}
	}
	return v == true
}

// blocks returns the objects of a nested block attribute (a list of objects in the plan).
func (rc *ResourceChange) blocks(attr string) []map[string]any {
	l, _ := rc.Change.After[attr].([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// configAddress is the resource's address inside its module's configuration: type.name.
func (rc *ResourceChange) configAddress() string { return rc.Type + "." + rc.Name }

// modulePath turns a module instance address (module.a[0].module.b["x"]) into the names of the
// module calls leading to it (a, b).
func modulePath(addr string) []string {
	var path []string
	for addr != "" {
		addr = strings.TrimPrefix(addr, ".")
		if !strings.HasPrefix(addr, "module.") {
			return path
		}
		addr = addr[len("module."):]
		end := strings.IndexAny(addr, ".[")
		if end < 0 {
			return append(path, addr)
		}
		path = append(path, addr[:end])
		addr = addr[end:]
		if addr[0] == '[' {
			addr = skipIndex(addr)
		}
	}
	return path
}

// skipIndex drops a leading [index] (a number or a quoted string that may hold ']').
func skipIndex(s string) string {
	inString := false
	for i := 1; i < len(s); i++ {
		switch {
		case inString && s[i] == '\\':
			i++
		case s[i] == '"':
			inString = !inString
		case !inString && s[i] == ']':
			return s[i+1:]
		}
	}
	return ""
}

// configResource finds the configuration block of a resource change.
func (p *Plan) configResource(rc *ResourceChange) (ConfigResource, bool) {
	m := p.Configuration.RootModule
	for _, name := range modulePath(rc.ModuleAddress) {
		call, ok := m.ModuleCalls[name]
		if !ok {
			return ConfigResource{}, false
		}
		m = call.Module
	}
	for _, r := range m.Resources {
		if r.Address == rc.configAddress() && r.Mode == "managed" {
			return r, true
		}
	}
	return ConfigResource{}, false
}

// refersTo reports whether the configuration of rc's attribute refers to the resource target
// (a type.name address in the same module).
func (p *Plan) refersTo(rc *ResourceChange, attr, target string) bool {
	cr, ok := p.configResource(rc)
	if !ok {
		return false
	}
	var expr struct {
		References []string `json:"references"`
	}
	if json.Unmarshal(cr.Expressions[attr], &expr) != nil {
		return false
	}
	for _, ref := range expr.References {
		if ref == target || strings.HasPrefix(ref, target+".") || strings.HasPrefix(ref, target+"[") {
			return true
		}
	}
	return false
}

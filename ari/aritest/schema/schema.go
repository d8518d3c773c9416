// Package schema checks ARI wire documents (websocket events and REST
// responses) against Asterisk's Swagger 1.2 ARI description, strictly: a
// property the schema does not define is as much an error as a missing one.
// Tests use it to keep the fake Asterisk honest about what it sends.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// ErrUnknownRoute is returned by ValidateResponse when no operation of the
// schema matches the method and path.
var ErrUnknownRoute = errors.New("no such ARI operation")

// Response classes that are not models.
const (
	classVoid   = "void"   // no body at all
	classBinary = "binary" // raw bytes (a recording download); not JSON
)

// Violation is one place where a document breaks the schema.
type Violation struct {
	Path    string // JSON path, rooted at the model name, e.g. "StasisStart.channel.caller.number"
	Problem string
}

func (v Violation) Error() string { return v.Path + ": " + v.Problem }

// Violations lists every violation found in one document, depth first,
// the properties of each object in name order.
type Violations []Violation

func (vs Violations) Error() string {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Error()
	}
	return strings.Join(msgs, "; ")
}

// Schema is a loaded ARI description: its models and its REST operations.
type Schema struct {
	models     map[string]*model
	operations []operation
	prefix     string // the basePath's path, "/ari"
	eventTypes []string
}

type model struct {
	id            string
	parent        string
	subTypes      []string
	discriminator string
	properties    map[string]property // the model's own only; see allProperties
}

type property struct {
	typ      string
	required bool
	enum     []string // nil: any value of the type
}

type operation struct {
	method        string
	template      []string // path segments; "{x}" matches any one segment
	literals      int      // segments that are not parameters, to prefer /channels/create over /channels/{id}
	responseClass string
	upgrade       bool // a websocket upgrade (GET /events): answered with 101
}

// The subset of a Swagger 1.2 API declaration that validation needs.
type apiDeclaration struct {
	BasePath string `json:"basePath"`
	APIs     []struct {
		Path       string `json:"path"`
		Operations []struct {
			HTTPMethod    string `json:"httpMethod"`
			ResponseClass string `json:"responseClass"`
			Upgrade       string `json:"upgrade"`
		} `json:"operations"`
	} `json:"apis"`
	Models map[string]struct {
		ID            string   `json:"id"`
		Extends       string   `json:"extends"`
		SubTypes      []string `json:"subTypes"`
		Discriminator string   `json:"discriminator"`
		Properties    map[string]struct {
			Type            string `json:"type"`
			Required        bool   `json:"required"`
			AllowableValues *struct {
				ValueType string   `json:"valueType"`
				Values    []string `json:"values"`
			} `json:"allowableValues"`
		} `json:"properties"`
	} `json:"models"`
}

// Load reads every *.json API declaration in dir (Asterisk's
// rest-api/api-docs) and checks that all type references resolve.
func Load(dir string) (*Schema, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("schema: list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("schema: no *.json API declarations in %s", dir)
	}
	s := &Schema{models: map[string]*model{}}
	for _, file := range files {
		if err := s.loadFile(file); err != nil {
			return nil, err
		}
	}
	if err := s.link(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schema) loadFile(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	var decl apiDeclaration
	if err := json.Unmarshal(raw, &decl); err != nil {
		return fmt.Errorf("schema: parse %s: %w", file, err)
	}
	if decl.BasePath != "" {
		base, err := url.Parse(decl.BasePath)
		if err != nil {
			return fmt.Errorf("schema: %s: basePath %q: %w", file, decl.BasePath, err)
		}
		s.prefix = strings.TrimSuffix(base.Path, "/")
	}
	for _, api := range decl.APIs {
		template := splitPath(api.Path)
		literals := 0
		for _, seg := range template {
			if !isParam(seg) {
				literals++
			}
		}
		for _, op := range api.Operations {
			s.operations = append(s.operations, operation{
				method:        strings.ToUpper(op.HTTPMethod),
				template:      template,
				literals:      literals,
				responseClass: op.ResponseClass,
				upgrade:       op.Upgrade != "",
			})
		}
	}
	for key, m := range decl.Models {
		if m.ID != key {
			return fmt.Errorf("schema: %s: model %q has id %q", file, key, m.ID)
		}
		if _, dup := s.models[key]; dup {
			return fmt.Errorf("schema: %s: model %q defined twice", file, key)
		}
		mod := &model{id: key, parent: m.Extends, subTypes: m.SubTypes, discriminator: m.Discriminator, properties: map[string]property{}}
		for name, p := range m.Properties {
			prop := property{typ: p.Type, required: p.Required}
			if av := p.AllowableValues; av != nil {
				if av.ValueType != "LIST" {
					return fmt.Errorf("schema: %s: %s.%s: allowableValues of type %q are not supported", file, key, name, av.ValueType)
				}
				prop.enum = av.Values
			}
			mod.properties[name] = prop
		}
		s.models[key] = mod
	}
	return nil
}

// link resolves inheritance (both Swagger 1.2 spellings: subTypes on the
// parent, extends on the child), checks every type reference, and lists the
// concrete event types.
func (s *Schema) link() error {
	for _, m := range s.models {
		for _, sub := range m.subTypes {
			child, ok := s.models[sub]
			if !ok {
				return fmt.Errorf("schema: model %s lists unknown subtype %q", m.id, sub)
			}
			if child.parent != "" && child.parent != m.id {
				return fmt.Errorf("schema: model %s has two parents, %s and %s", sub, child.parent, m.id)
			}
			child.parent = m.id
		}
	}
	for _, m := range s.models {
		if m.parent != "" {
			parent, ok := s.models[m.parent]
			if !ok {
				return fmt.Errorf("schema: model %s extends unknown model %q", m.id, m.parent)
			}
			if !slices.Contains(parent.subTypes, m.id) {
				parent.subTypes = append(parent.subTypes, m.id)
			}
		}
		seen := map[string]bool{}
		for a := m; a != nil; a = s.models[a.parent] {
			if seen[a.id] {
				return fmt.Errorf("schema: model %s inherits from itself", m.id)
			}
			seen[a.id] = true
		}
		for name, p := range m.properties {
			if err := s.checkType(p.typ); err != nil {
				return fmt.Errorf("schema: %s.%s: %w", m.id, name, err)
			}
		}
	}
	for _, op := range s.operations {
		if op.responseClass == classVoid || op.responseClass == classBinary {
			continue
		}
		if err := s.checkType(op.responseClass); err != nil {
			return fmt.Errorf("schema: %s /%s: %w", op.method, strings.Join(op.template, "/"), err)
		}
	}
	if _, ok := s.models["Event"]; !ok {
		return errors.New("schema: no Event model")
	}
	for id := range s.models {
		if len(s.models[id].subTypes) == 0 && id != "Event" && s.descendsFrom(id, "Event") {
			s.eventTypes = append(s.eventTypes, id)
		}
	}
	sort.Strings(s.eventTypes)
	return nil
}

func (s *Schema) checkType(typ string) error {
	if elem, ok := listElement(typ); ok {
		return s.checkType(elem)
	}
	if _, ok := primitives[typ]; ok {
		return nil
	}
	if _, ok := s.models[typ]; ok {
		return nil
	}
	return fmt.Errorf("unknown type %q", typ)
}

// descendsFrom reports whether model id is ancestor or inherits from it.
func (s *Schema) descendsFrom(id, ancestor string) bool {
	for m := s.models[id]; m != nil; m = s.models[m.parent] {
		if m.id == ancestor {
			return true
		}
	}
	return false
}

// EventTypes lists every concrete event type (the leaf subtypes of Event),
// sorted.
func (s *Schema) EventTypes() []string { return slices.Clone(s.eventTypes) }

// ValidateEvent checks one websocket message: its "type" must name a
// concrete event, and the body must fit that model with the properties it
// inherits from Event and Message.
func (s *Schema) ValidateEvent(body []byte) error {
	doc, err := decode(body)
	if err != nil {
		return Violations{{Path: "event", Problem: err.Error()}}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Violations{{Path: "event", Problem: "want object, got " + jsonType(doc)}}
	}
	rawType, present := obj["type"]
	if !present {
		return Violations{{Path: "event.type", Problem: "required property is missing"}}
	}
	typ, ok := rawType.(string)
	if !ok {
		return Violations{{Path: "event.type", Problem: "want string, got " + jsonType(rawType)}}
	}
	if !slices.Contains(s.eventTypes, typ) {
		return Violations{{Path: "event.type", Problem: fmt.Sprintf("%q is not an event type", typ)}}
	}
	return asError(s.validateValue(typ, typ, obj, nil))
}

// ValidateModel checks body against a model name or a type expression such
// as "List[Channel]".
func (s *Schema) ValidateModel(typ string, body []byte) error {
	if err := s.checkType(typ); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	doc, err := decode(body)
	if err != nil {
		return Violations{{Path: typ, Problem: err.Error()}}
	}
	return asError(s.validateValue(typ, typ, doc, nil))
}

// ValidateResponse checks a REST response against the operation that method
// and path (with or without the "/ari" prefix, with or without a query)
// select. A 2xx body must fit the operation's responseClass ("void": empty);
// a 101 is only for a websocket upgrade, with no body. Any other status must
// carry one of Asterisk's two error envelopes,
// {"message": "..."} or {"error": "..."}; its status is not compared with the
// declared errorResponses because Asterisk also answers 401 and 500 on any
// route.
func (s *Schema) ValidateResponse(method, path string, status int, body []byte) error {
	op, ok := s.findOperation(method, path)
	if !ok {
		return fmt.Errorf("%s %s: %w", method, path, ErrUnknownRoute)
	}
	root := fmt.Sprintf("%s %s %d", method, path, status)
	switch {
	case status == http.StatusSwitchingProtocols:
		if !op.upgrade {
			return Violations{{Path: root, Problem: "not a websocket upgrade operation"}}
		}
		return wantEmpty(root, body)
	case status < 200 || status > 299:
		return asError(validateErrorEnvelope(status, body))
	}
	switch op.responseClass {
	case classVoid:
		return wantEmpty(root, body)
	case classBinary:
		return nil
	}
	return s.ValidateModel(op.responseClass, body)
}

func wantEmpty(root string, body []byte) error {
	if len(body) != 0 {
		return Violations{{Path: root, Problem: fmt.Sprintf("want an empty body, got %d bytes", len(body))}}
	}
	return nil
}

func validateErrorEnvelope(status int, body []byte) Violations {
	root := "error " + strconv.Itoa(status)
	doc, err := decode(body)
	if err != nil {
		return Violations{{Path: root, Problem: err.Error()}}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Violations{{Path: root, Problem: "want object, got " + jsonType(doc)}}
	}
	if len(obj) != 1 {
		return Violations{{Path: root, Problem: fmt.Sprintf(`want exactly one of "message" or "error", got %d properties`, len(obj))}}
	}
	for key, v := range obj {
		if key != "message" && key != "error" {
			return Violations{{Path: root + "." + key, Problem: `want "message" or "error"`}}
		}
		if _, ok := v.(string); !ok {
			return Violations{{Path: root + "." + key, Problem: "want string, got " + jsonType(v)}}
		}
	}
	return nil
}

func (s *Schema) findOperation(method, path string) (operation, bool) {
	path, _, _ = strings.Cut(path, "?")
	if s.prefix != "" && (path == s.prefix || strings.HasPrefix(path, s.prefix+"/")) {
		path = strings.TrimPrefix(path, s.prefix)
	}
	segs := splitPath(path)
	var best operation
	found := false
	for _, op := range s.operations {
		if op.method != strings.ToUpper(method) || !matchTemplate(op.template, segs) {
			continue
		}
		if !found || op.literals > best.literals {
			best, found = op, true
		}
	}
	return best, found
}

func matchTemplate(template, segs []string) bool {
	if len(template) != len(segs) {
		return false
	}
	for i, t := range template {
		if isParam(t) {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if t != segs[i] {
			return false
		}
	}
	return true
}

func splitPath(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// asError keeps a nil Violations from becoming a non-nil error.
func asError(vs Violations) error {
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// decode parses exactly one JSON value, keeping numbers exact so that 3 and
// 3.0 stay distinguishable.
func decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

// primitives maps each Swagger primitive to its check; nil means valid.
var primitives = map[string]func(v any) string{
	"string":  wantKind[string]("string"),
	"boolean": wantKind[bool]("boolean"),
	"object":  wantKind[map[string]any]("object"),
	"int":     wantInteger("int", 32),
	"long":    wantInteger("long", 64),
	"double": func(v any) string {
		if _, ok := v.(json.Number); !ok {
			return "want double, got " + jsonType(v)
		}
		return ""
	},
	"Date": func(v any) string {
		str, ok := v.(string)
		if !ok {
			return "want Date, got " + jsonType(v)
		}
		if _, err := time.Parse(ari.DateFormat, str); err != nil {
			return fmt.Sprintf("want Date in the form %s, got %q", ari.DateFormat, str)
		}
		return ""
	},
}

func wantKind[T any](name string) func(v any) string {
	return func(v any) string {
		if _, ok := v.(T); !ok {
			return "want " + name + ", got " + jsonType(v)
		}
		return ""
	}
}

func wantInteger(name string, bits int) func(v any) string {
	return func(v any) string {
		n, ok := v.(json.Number)
		if !ok {
			return "want " + name + ", got " + jsonType(v)
		}
		if _, err := strconv.ParseInt(n.String(), 10, bits); err != nil {
			return fmt.Sprintf("want %s, got number %s", name, n)
		}
		return ""
	}
}

func (s *Schema) validateValue(path, typ string, v any, out Violations) Violations {
	if elem, ok := listElement(typ); ok {
		arr, ok := v.([]any)
		if !ok {
			return append(out, Violation{path, "want " + typ + ", got " + jsonType(v)})
		}
		for i, item := range arr {
			out = s.validateValue(fmt.Sprintf("%s[%d]", path, i), elem, item, out)
		}
		return out
	}
	if check, ok := primitives[typ]; ok {
		if problem := check(v); problem != "" {
			out = append(out, Violation{path, problem})
		}
		return out
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return append(out, Violation{path, "want " + typ + ", got " + jsonType(v)})
	}
	m, problem := s.concreteModel(typ, obj)
	if problem != "" {
		return append(out, Violation{path, problem})
	}
	props := s.allProperties(m)
	names := make([]string, 0, len(props)+len(obj))
	for name := range props {
		names = append(names, name)
	}
	for name := range obj {
		if _, ok := props[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		p, defined := props[name]
		value, present := obj[name]
		switch {
		case !defined:
			out = append(out, Violation{path + "." + name, "not defined in " + m.id})
		case !present:
			if p.required {
				out = append(out, Violation{path + "." + name, "required property is missing"})
			}
		default:
			before := len(out)
			out = s.validateValue(path+"."+name, p.typ, value, out)
			if len(out) == before && p.enum != nil {
				if str, _ := value.(string); !slices.Contains(p.enum, str) {
					out = append(out, Violation{path + "." + name, fmt.Sprintf("want one of %q, got %q", p.enum, str)})
				}
			}
		}
	}
	return out
}

// concreteModel picks the model an object is validated as: the model named
// by its discriminator when typ is polymorphic, typ itself otherwise.
func (s *Schema) concreteModel(typ string, obj map[string]any) (*model, string) {
	m := s.models[typ]
	disc := s.discriminator(m)
	if disc == "" {
		return m, ""
	}
	name, ok := obj[disc].(string)
	if !ok {
		return m, "" // the property check reports the missing or mistyped discriminator
	}
	if _, known := s.models[name]; !known || !s.descendsFrom(name, typ) {
		return nil, fmt.Sprintf("%s %q is not %s or one of its subtypes", disc, name, typ)
	}
	return s.models[name], ""
}

func (s *Schema) discriminator(m *model) string {
	for ; m != nil; m = s.models[m.parent] {
		if m.discriminator != "" {
			return m.discriminator
		}
	}
	return ""
}

// allProperties merges a model's properties with those it inherits.
func (s *Schema) allProperties(m *model) map[string]property {
	props := map[string]property{}
	for ; m != nil; m = s.models[m.parent] {
		for name, p := range m.properties {
			if _, overridden := props[name]; !overridden {
				props[name] = p
			}
		}
	}
	return props
}

func listElement(typ string) (string, bool) {
	if strings.HasPrefix(typ, "List[") && strings.HasSuffix(typ, "]") {
		return typ[len("List[") : len(typ)-1], true
	}
	return "", false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// errTooManyItems is a page holding more items than Graph ever returns.
var errTooManyItems = fmt.Errorf("the page holds more than %d items, more than Graph ever returns in one", maxPageItems)

// parsePage reads one page of a Graph collection ({"value":[...],
// "@odata.nextLink":"..."}) from r and hands each item of value to each as
// soon as it is decoded, so a page never costs more memory than one item
// (the caller caps r). It returns the nextLink, "" on the last page.
func parsePage[T any](r io.Reader, maxItems int, each func(T) error) (next string, err error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{', "a JSON object"); err != nil {
		return "", err
	}
	items := 0
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := kt.(string)
		switch key {
		case "value":
			t, err := dec.Token()
			if err != nil {
				return "", err
			}
			if t == nil {
				continue // "value": null holds nothing
			}
			if d, ok := t.(json.Delim); !ok || d != '[' {
				return "", fmt.Errorf("value is %s, not an array", tokenKind(t))
			}
			for dec.More() {
				if items++; items > maxItems {
					return "", errTooManyItems
				}
				var v T
				if err := dec.Decode(&v); err != nil {
					return "", fmt.Errorf("item %d of value: %w", items, err)
				}
				if err := each(v); err != nil {
					return "", err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return "", err
			}
		case "@odata.nextLink":
			var s *string
			if err := dec.Decode(&s); err != nil {
				return "", fmt.Errorf("@odata.nextLink: %w", err)
			}
			if s != nil {
				next = *s
			}
			if len(next) > maxNextLink {
				return "", fmt.Errorf("@odata.nextLink is %s long, longer than Graph's ever are", sizeText(int64(len(next))))
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return "", err
	}
	return next, nil
}

func expectDelim(dec *json.Decoder, want json.Delim, kind string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("the answer is %s, not %s", tokenKind(t), kind)
	}
	return nil
}

func tokenKind(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "unexpected"
}

// sizeProps is singleValueExtendedProperties as we read it: only the size
// (see sizeProperty). It keeps one value however many items the server
// sends, so a page of tiny items cannot blow up into a large heap.
type sizeProps struct{ size int64 }

// maxProps bounds singleValueExtendedProperties; we ask for one.
const maxProps = 16

func (p *sizeProps) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("singleValueExtendedProperties is %s, not an array", tokenKind(t))
	}
	for n := 0; dec.More(); n++ {
		if n >= maxProps {
			return fmt.Errorf("singleValueExtendedProperties holds more than %d items; mailport asks for one", maxProps)
		}
		var prop struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		}
		if err := dec.Decode(&prop); err != nil {
			return err
		}
		// We ask for one property; Graph spells its id its own way
		// ("Integer 0xe08"), so take the first number.
		if n, err := strconv.ParseInt(prop.Value, 10, 64); err == nil && n >= 0 && p.size == 0 {
			p.size = n
		}
	}
	return nil
}

// apiMessage is Graph's message resource, the fields we select.
type apiMessage struct {
	ID       string    `json:"id"`
	Received time.Time `json:"receivedDateTime"`
	IsRead   bool      `json:"isRead"`
	Props    sizeProps `json:"singleValueExtendedProperties"`
}

// size is PR_MESSAGE_SIZE, 0 when Graph did not send it.
func (m apiMessage) size() int64 { return m.Props.size }

// checkID refuses a message id no honest Graph sends: empty, "." or ".."
// (a path step once in a URL), too long, or with control characters or
// invalid UTF-8. Other characters, "/" included, are escaped where the id
// goes into a URL, and pkg/store makes file names safe on its own.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("a message without an id")
	case id == "." || id == "..":
		return fmt.Errorf("a message whose id is %q", id)
	case len(id) > maxIDLen:
		return fmt.Errorf("a message id %s long (Graph's are about 150 characters)", sizeText(int64(len(id))))
	case !utf8.ValidString(id):
		return fmt.Errorf("a message id that is not UTF-8 (%q)", id)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("a message id with control characters (%q)", id)
		}
	}
	return nil
}

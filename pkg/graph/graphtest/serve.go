package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type wordDecoder struct{ d mime.WordDecoder }

func (w *wordDecoder) decode(s string) string {
	w.d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	if out, err := w.d.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// graphError is Graph's error envelope.
type graphError struct {
	status        int
	code, message string
	retryAfter    string
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func gerr(status int, code, format string, args ...any) *graphError {
	return &graphError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

var (
	errMalformed = func() *graphError { return gerr(400, "ErrorInvalidIdMalformed", "Id is malformed.") }
	errNotFound  = func() *graphError {
		return gerr(404, "ErrorItemNotFound", "The specified object was not found in the store.")
	}
)

// statusWriter records the status for the request log. onStatus runs once,
// before the status goes out: a client that has the answer must find its
// request in the log (a test counting requests right after a call).
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(status int)
}

func (w *statusWriter) setStatus(code int) {
	if w.status == 0 {
		w.status = code
		w.onStatus(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(p)
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeError(w http.ResponseWriter, reqID string, e *graphError) {
	w.Header().Set("Content-Type", "application/json")
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": e.code, "message": e.message,
		"innerError": map[string]any{
			"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": reqID, "client-request-id": reqID,
		},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// call is one request being answered.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	reqID   string
	caller  *user // whose token
	mailbox *user // whose mailbox
	prefix  string
	segs    []string
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: rw}
	reqID := newRequestID()
	sw.Header().Set("request-id", reqID)
	sw.Header().Set("client-request-id", reqID)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")
	s.mu.Lock()
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	s.mu.Unlock()
	c := &call{w: sw, r: r, reqID: reqID}
	sw.onStatus = func(status int) {
		var caller string
		if c.caller != nil {
			caller = c.caller.upn
		}
		s.logMu.Lock()
		s.log = append(s.log, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Caller: caller, Status: status})
		s.logMu.Unlock()
	}
	defer func() {
		sw.setStatus(http.StatusOK) // a handler that wrote nothing: net/http answers 200
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	if e := s.dispatch(c, path); e != nil {
		writeError(sw, reqID, e)
	}
}

func (s *Server) dispatch(c *call, path string) *graphError {
	s.mu.Lock()
	if s.throttleN > 0 {
		s.throttleN--
		s.throttled++
		ra := s.throttleAfter
		s.mu.Unlock()
		e := gerr(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		e.retryAfter = ra
		return e
	}
	authorize := s.opts.Authorize
	s.mu.Unlock()
	if !strings.HasPrefix(c.r.URL.EscapedPath(), "/v1.0/") {
		return gerr(400, "BadRequest", "Invalid version.")
	}
	tok, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return gerr(401, "InvalidAuthenticationToken", "Access token is empty.")
	}
	var upn string
	if authorize != nil {
		u, err := authorize(tok)
		if err != nil {
			return gerr(401, "InvalidAuthenticationToken", "%s", err.Error())
		}
		upn = u
	} else {
		s.mu.Lock()
		upn, ok = s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			return gerr(401, "InvalidAuthenticationToken", "Access token validation failure.")
		}
	}
	var segs []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		seg, err := url.PathUnescape(p)
		if err != nil {
			return gerr(400, "BadRequest", "Invalid request URL.")
		}
		segs = append(segs, seg)
	}
	s.mu.Lock()
	c.caller = s.users[strings.ToLower(upn)]
	s.mu.Unlock()
	switch {
	case len(segs) >= 1 && segs[0] == "me":
		if c.caller == nil || c.caller.restDisabled {
			return gerr(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		}
		c.mailbox, c.prefix, c.segs = c.caller, "users('"+c.caller.id+"')", segs[1:]
	case len(segs) >= 2 && segs[0] == "users":
		s.mu.Lock()
		mb := s.users[strings.ToLower(segs[1])]
		if mb == nil {
			for _, u := range s.users {
				if strings.EqualFold(u.id, segs[1]) {
					mb = u
				}
			}
		}
		granted := c.caller != nil && mb != nil && (c.caller == mb || s.grants[strings.ToLower(c.caller.upn)+"\x00"+strings.ToLower(mb.upn)])
		s.mu.Unlock()
		if mb == nil {
			return gerr(404, "ErrorInvalidUser", "The requested user '%s' is invalid.", segs[1])
		}
		if !granted {
			return gerr(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		}
		if mb.restDisabled {
			return gerr(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		}
		c.mailbox, c.prefix, c.segs = mb, "users('"+mb.id+"')", segs[2:]
	default:
		return gerr(400, "BadRequest", "Resource not found for the segment '%s'.", segs[0])
	}
	return s.route(c)
}

func (s *Server) route(c *call) *graphError {
	m, seg := c.r.Method, c.segs
	switch {
	case len(seg) == 0 && m == "GET":
		return s.getUser(c)
	case len(seg) == 1 && seg[0] == "mailFolders" && m == "GET":
		return s.listFolders(c, "msgfolderroot")
	case len(seg) == 2 && seg[0] == "mailFolders" && m == "GET":
		return s.getFolder(c, seg[1])
	case len(seg) == 3 && seg[0] == "mailFolders" && seg[2] == "childFolders" && m == "GET":
		return s.listFolders(c, seg[1])
	case len(seg) == 3 && seg[0] == "mailFolders" && seg[2] == "childFolders" && m == "POST":
		return s.createFolder(c, seg[1])
	case len(seg) == 3 && seg[0] == "mailFolders" && seg[2] == "messages" && m == "GET":
		return s.listMessages(c, seg[1])
	case len(seg) >= 4 && seg[0] == "mailFolders" && seg[2] == "messages":
		return s.messageOp(c, seg[3], seg[4:])
	case len(seg) >= 2 && seg[0] == "messages":
		return s.messageOp(c, seg[1], seg[2:])
	case len(seg) == 1 && seg[0] == "sendMail" && m == "POST":
		return s.sendMail(c)
	}
	if len(seg) > 0 {
		return gerr(400, "BadRequest", "Resource not found for the segment '%s'.", seg[len(seg)-1])
	}
	return gerr(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func (s *Server) messageOp(c *call, id string, rest []string) *graphError {
	m := c.r.Method
	switch {
	case len(rest) == 0 && m == "GET":
		return s.getMessage(c, id)
	case len(rest) == 0 && m == "PATCH":
		return s.patchMessage(c, id)
	case len(rest) == 0 && m == "DELETE":
		return s.deleteMessage(c, id)
	case len(rest) == 1 && rest[0] == "$value" && m == "GET":
		return s.getValue(c, id)
	case len(rest) == 1 && rest[0] == "move" && m == "POST":
		return s.moveMessage(c, id)
	}
	return gerr(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func (s *Server) getUser(c *call) *graphError {
	u := c.mailbox
	writeJSON(c.w, 200, map[string]any{
		"@odata.context": s.URL + "/$metadata#users/$entity",
		"id":             u.id, "displayName": u.name, "mail": u.upn, "userPrincipalName": u.upn,
		"businessPhones": []string{}, "givenName": nil, "surname": nil, "jobTitle": nil,
	})
	return nil
}

// folderRef resolves a folder id or well-known name in the mailbox; the
// caller holds s.mu.
func (s *Server) folderRef(c *call, ref string) (*folder, *graphError) {
	if f, ok := c.mailbox.wellKnown[strings.ToLower(ref)]; ok {
		return f, nil
	}
	if !wellFormed(ref, kindFolder) {
		if wellFormed(ref, kindMessage) {
			return nil, errNotFound()
		}
		return nil, errMalformed()
	}
	f := s.folders[ref]
	if f == nil || f.owner != c.mailbox {
		return nil, errNotFound()
	}
	return f, nil
}

func (s *Server) messageRef(c *call, id string) (*message, *graphError) {
	if !wellFormed(id, kindMessage) {
		if wellFormed(id, kindFolder) {
			return nil, errNotFound()
		}
		return nil, errMalformed()
	}
	m := s.msgs[id]
	if m == nil || m.folder.owner != c.mailbox {
		return nil, errNotFound()
	}
	return m, nil
}

func (s *Server) folderJSON(f *folder) map[string]any {
	total, unread := 0, 0
	for _, m := range s.msgs {
		if m.folder == f {
			total++
			if !m.isRead {
				unread++
			}
		}
	}
	parent := ""
	if f.parent != nil {
		parent = f.parent.id
	}
	return map[string]any{
		"id": f.id, "displayName": f.name, "parentFolderId": parent,
		"childFolderCount": len(f.children), "unreadItemCount": unread, "totalItemCount": total,
		"isHidden": f.hidden,
	}
}

var folderProps = []string{"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden"}

func (s *Server) getFolder(c *call, ref string) *graphError {
	s.mu.Lock()
	f, e := s.folderRef(c, ref)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	obj := s.folderJSON(f)
	s.mu.Unlock()
	obj, e = project(obj, c.r.URL.Query().Get("$select"), folderProps, "microsoft.graph.mailFolder")
	if e != nil {
		return e
	}
	obj["@odata.context"] = s.URL + "/$metadata#" + c.prefix + "/mailFolders/$entity"
	writeJSON(c.w, 200, obj)
	return nil
}

// project keeps the $select'ed properties (id always), refusing unknown ones.
func project(obj map[string]any, sel string, known []string, typ string) (map[string]any, *graphError) {
	if sel == "" {
		return obj, nil
	}
	out := map[string]any{"id": obj["id"]}
	if tag, ok := obj["@odata.etag"]; ok {
		out["@odata.etag"] = tag
	}
	for _, p := range strings.Split(sel, ",") {
		p = strings.TrimSpace(p)
		found := false
		for _, k := range known {
			if strings.EqualFold(k, p) {
				if v, ok := obj[k]; ok {
					out[k] = v
				}
				found = true
			}
		}
		if !found {
			return nil, gerr(400, "RequestBroker--ParseUri", "Could not find a property named '%s' on type '%s'.", p, typ)
		}
	}
	return out, nil
}

// checkSelect refuses a $select naming a property the type lacks, as
// Graph does even when nothing would be returned.
func checkSelect(sel string, known []string, typ string) *graphError {
	_, e := project(map[string]any{}, sel, known, typ)
	return e
}

// page applies $top (default 10, at most 1000) and $skip and returns the
// nextLink for the rest.
func (s *Server) page(c *call, n int) (from, to int, next string, e *graphError) {
	q := c.r.URL.Query()
	top, skip := 10, 0
	if v := q.Get("$top"); v != "" {
		t, err := strconv.Atoi(v)
		if err != nil || t < 0 {
			return 0, 0, "", gerr(400, "BadRequest", "Invalid $top value '%s'.", v)
		}
		top = min(t, 1000)
	}
	if v := q.Get("$skip"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			return 0, 0, "", gerr(400, "BadRequest", "Invalid $skip value '%s'.", v)
		}
		skip = k
	}
	from, to = min(skip, n), min(skip+top, n)
	if to < n {
		q.Set("$skip", strconv.Itoa(to))
		next = strings.TrimSuffix(s.URL, "/v1.0") + c.r.URL.EscapedPath() + "?" + q.Encode()
	}
	return from, to, next, nil
}

func (s *Server) listFolders(c *call, ref string) *graphError {
	q := c.r.URL.Query()
	var clauses []clause
	if f := q.Get("$filter"); f != "" {
		var err error
		if clauses, err = parseFilter(f); err != nil {
			return gerr(400, "BadRequest", "Invalid filter clause: %v", err)
		}
		for _, cl := range clauses {
			if !strings.EqualFold(cl.prop, "displayName") || cl.lit.kind != "string" || (cl.op != "eq" && cl.op != "ne") {
				return gerr(400, "ErrorInvalidUrlQueryFilter", "The fake Graph filters folders only by displayName eq/ne '...'.")
			}
		}
	}
	if e := checkSelect(q.Get("$select"), folderProps, "microsoft.graph.mailFolder"); e != nil {
		return e
	}
	s.mu.Lock()
	parent, e := s.folderRef(c, ref)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var all []map[string]any
	hidden := strings.EqualFold(q.Get("includeHiddenFolders"), "true")
	for _, f := range parent.children {
		keep := hidden || !f.hidden
		for _, cl := range clauses {
			// Exchange compares display names case-insensitively.
			eq := strings.EqualFold(f.name, cl.lit.s)
			keep = keep && (eq == (cl.op == "eq"))
		}
		if keep {
			all = append(all, s.folderJSON(f))
		}
	}
	s.mu.Unlock()
	from, to, next, e := s.page(c, len(all))
	if e != nil {
		return e
	}
	vals := []map[string]any{}
	for _, obj := range all[from:to] {
		p, e := project(obj, q.Get("$select"), folderProps, "microsoft.graph.mailFolder")
		if e != nil {
			return e
		}
		vals = append(vals, p)
	}
	out := map[string]any{"@odata.context": s.URL + "/$metadata#" + c.prefix + "/mailFolders('" + ref + "')/childFolders", "value": vals}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	writeJSON(c.w, 200, out)
	return nil
}

func (s *Server) createFolder(c *call, ref string) *graphError {
	var body struct {
		DisplayName string `json:"displayName"`
	}
	if err := json.NewDecoder(io.LimitReader(c.r.Body, MaxRequestBytes)).Decode(&body); err != nil || body.DisplayName == "" {
		return gerr(400, "ErrorInvalidRequest", "The request body must name a displayName.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, e := s.folderRef(c, ref)
	if e != nil {
		return e
	}
	for _, f := range parent.children {
		if strings.EqualFold(f.name, body.DisplayName) {
			return gerr(409, "ErrorFolderExists", "A folder with the specified name already exists.")
		}
	}
	f := s.addChild(parent, body.DisplayName)
	writeJSON(c.w, 201, s.folderJSON(f))
	return nil
}

var messageProps = []string{
	"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
	"hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId", "conversationId",
	"isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification",
	"sender", "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag",
}

func recipients(list []string) []map[string]any {
	out := []map[string]any{}
	for _, a := range list {
		out = append(out, map[string]any{"emailAddress": map[string]any{"name": a, "address": a}})
	}
	return out
}

const graphTime = "2006-01-02T15:04:05Z"

func (m *message) json() map[string]any {
	var from any
	if m.from != "" {
		from = map[string]any{"emailAddress": map[string]any{"name": m.from, "address": m.from}}
	}
	sent := m.sent
	if sent.IsZero() {
		sent = m.received
	}
	return map[string]any{
		"@odata.etag":                "W/\"" + m.changeKey + "\"",
		"id":                         m.id,
		"createdDateTime":            m.created.Format(graphTime),
		"lastModifiedDateTime":       m.modified.Format(graphTime),
		"changeKey":                  m.changeKey,
		"categories":                 []string{},
		"receivedDateTime":           m.received.Format(graphTime),
		"sentDateTime":               sent.Format(graphTime),
		"hasAttachments":             m.hasAttachments,
		"internetMessageId":          m.msgID,
		"subject":                    m.subject,
		"bodyPreview":                "",
		"importance":                 "normal",
		"parentFolderId":             m.folder.id,
		"conversationId":             "AAQk" + m.id[4:],
		"isDeliveryReceiptRequested": false,
		"isReadReceiptRequested":     false,
		"isRead":                     m.isRead,
		"isDraft":                    false,
		"webLink":                    "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(m.id),
		"inferenceClassification":    "focused",
		"sender":                     from,
		"from":                       from,
		"toRecipients":               recipients(m.to),
		"ccRecipients":               recipients(m.cc),
		"bccRecipients":              recipients(m.bcc),
		"replyTo":                    []any{},
		"flag":                       map[string]any{"flagStatus": "notFlagged"},
	}
}

// expandSize matches the one $expand the fake supports: PR_MESSAGE_SIZE
// as a single-value extended property.
var expandRE = regexp.MustCompile(`^singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)$`)

func (s *Server) render(c *call, m *message) (map[string]any, *graphError) {
	q := c.r.URL.Query()
	obj := m.json()
	var props []map[string]any
	if x := q.Get("$expand"); x != "" {
		mm := expandRE.FindStringSubmatch(x)
		if mm == nil {
			return nil, gerr(400, "BadRequest", "The fake Graph supports only $expand=singleValueExtendedProperties($filter=id eq '...').")
		}
		props = []map[string]any{}
		if isSizeProp(mm[1]) {
			props = append(props, map[string]any{"id": "Integer 0xe08", "value": strconv.FormatInt(m.size, 10)})
		}
	}
	obj, e := project(obj, q.Get("$select"), messageProps, "microsoft.graph.message")
	if e != nil {
		return nil, e
	}
	if props != nil {
		obj["singleValueExtendedProperties"] = props
	}
	return obj, nil
}

func isSizeProp(id string) bool {
	f := strings.Fields(strings.ToLower(id))
	if len(f) != 2 || f[0] != "integer" {
		return false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
	return err == nil && n == 0x0e08
}

func (s *Server) listMessages(c *call, ref string) *graphError {
	q := c.r.URL.Query()
	var clauses []clause
	if f := q.Get("$filter"); f != "" {
		var err error
		if clauses, err = parseFilter(f); err != nil {
			return gerr(400, "BadRequest", "Invalid filter clause: %v", err)
		}
		for _, cl := range clauses {
			want := map[string]string{"isread": "bool", "hasattachments": "bool", "receiveddatetime": "time", "subject": "string"}[strings.ToLower(cl.prop)]
			if want == "" {
				return gerr(400, "BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.message'.", cl.prop)
			}
			if want != cl.lit.kind {
				return gerr(400, "BadRequest", "A binary operator with incompatible types was detected for '%s'.", cl.prop)
			}
			if want != "time" && cl.op != "eq" && cl.op != "ne" {
				return gerr(400, "BadRequest", "The operator '%s' is not supported for '%s'.", cl.op, cl.prop)
			}
		}
	}
	if e := checkSelect(q.Get("$select"), messageProps, "microsoft.graph.message"); e != nil {
		return e
	}
	desc := true // Graph lists newest first unless told otherwise
	var orderProps []string
	if ob := q.Get("$orderby"); ob != "" {
		for _, term := range strings.Split(ob, ",") {
			f := strings.Fields(term)
			if len(f) == 0 || len(f) > 2 || !strings.EqualFold(f[0], "receivedDateTime") {
				return gerr(400, "BadRequest", "The fake Graph orders messages only by receivedDateTime, not %q.", term)
			}
			desc = len(f) == 2 && strings.EqualFold(f[1], "desc")
			if len(f) == 2 && !desc && !strings.EqualFold(f[1], "asc") {
				return gerr(400, "BadRequest", "Invalid $orderby direction %q.", f[1])
			}
			orderProps = append(orderProps, f[0])
		}
	}
	// Exchange refuses a sort it cannot serve from the filter's index:
	// ordered properties must lead the filter, in the same order.
	if len(clauses) > 0 {
		for i, p := range orderProps {
			if i >= len(clauses) || !strings.EqualFold(clauses[i].prop, p) {
				return gerr(400, "InefficientFilter", "The restriction or sort order is too complex for this operation.")
			}
		}
	}
	s.mu.Lock()
	f, e := s.folderRef(c, ref)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var all []*message
	for _, m := range s.sorted(f, desc) {
		if matches(m, clauses) {
			all = append(all, m)
		}
	}
	s.mu.Unlock()
	from, to, next, e := s.page(c, len(all))
	if e != nil {
		return e
	}
	vals := []map[string]any{}
	s.mu.Lock()
	for _, m := range all[from:to] {
		obj, e := s.render(c, m)
		if e != nil {
			s.mu.Unlock()
			return e
		}
		vals = append(vals, obj)
	}
	s.mu.Unlock()
	out := map[string]any{"@odata.context": s.URL + "/$metadata#" + c.prefix + "/mailFolders('" + ref + "')/messages", "value": vals}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	writeJSON(c.w, 200, out)
	return nil
}

func matches(m *message, clauses []clause) bool {
	for _, cl := range clauses {
		var ok bool
		switch strings.ToLower(cl.prop) {
		case "isread":
			ok = (m.isRead == cl.lit.b) == (cl.op == "eq")
		case "hasattachments":
			ok = (m.hasAttachments == cl.lit.b) == (cl.op == "eq")
		case "subject":
			ok = strings.EqualFold(m.subject, cl.lit.s) == (cl.op == "eq")
		case "receiveddatetime":
			ok = compareTime(m.received, cl.op, cl.lit.t)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Server) getMessage(c *call, id string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.messageRef(c, id)
	if e != nil {
		return e
	}
	obj, e := s.render(c, m)
	if e != nil {
		return e
	}
	obj["@odata.context"] = s.URL + "/$metadata#" + c.prefix + "/messages/$entity"
	writeJSON(c.w, 200, obj)
	return nil
}

func (s *Server) patchMessage(c *call, id string) *graphError {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(c.r.Body, MaxRequestBytes)).Decode(&body); err != nil {
		return gerr(400, "BadRequest", "Empty Payload. JSON content expected.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.messageRef(c, id)
	if e != nil {
		return e
	}
	if raw, ok := body["isRead"]; ok {
		if err := json.Unmarshal(raw, &m.isRead); err != nil {
			return gerr(400, "BadRequest", "Cannot convert the literal '%s' to the expected type 'Edm.Boolean'.", raw)
		}
	}
	m.modified = time.Now().UTC()
	obj, _ := s.render(c, m)
	writeJSON(c.w, 200, obj)
	return nil
}

func (s *Server) deleteMessage(c *call, id string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.messageRef(c, id)
	if e != nil {
		return e
	}
	delete(s.msgs, m.id)
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getValue(c *call, id string) *graphError {
	s.mu.Lock()
	m, e := s.messageRef(c, id)
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if d := s.opts.ValueDelay; d > 0 {
		time.Sleep(d)
	}
	rc, err := m.reader()
	if err != nil {
		return gerr(500, "ErrorInternalServerError", "graphtest: open message: %v", err)
	}
	defer rc.Close()
	c.w.Header().Set("Content-Type", "application/octet-stream")
	c.w.WriteHeader(200)
	io.Copy(c.w, rc)
	return nil
}

func (s *Server) moveMessage(c *call, id string) *graphError {
	var body struct {
		DestinationID string `json:"destinationId"`
	}
	if err := json.NewDecoder(io.LimitReader(c.r.Body, MaxRequestBytes)).Decode(&body); err != nil || body.DestinationID == "" {
		return gerr(400, "ErrorInvalidParameter", "The value of the parameter 'DestinationId' is empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.messageRef(c, id)
	if e != nil {
		return e
	}
	dest, e := s.folderRef(c, body.DestinationID)
	if e != nil {
		return e
	}
	// Exchange gives the moved item a new id; the old one is gone.
	delete(s.msgs, m.id)
	s.store(m, dest)
	obj, _ := s.render(c, m)
	obj["@odata.context"] = s.URL + "/$metadata#" + c.prefix + "/messages/$entity"
	writeJSON(c.w, 201, obj)
	return nil
}

func (s *Server) sendMail(c *call) *graphError {
	if c.r.ContentLength > MaxRequestBytes {
		return gerr(413, "RequestEntityTooLarge", "The request is larger than the maximum of %d bytes.", MaxRequestBytes)
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt != "text/plain" {
		return gerr(400, "ErrorInvalidRequest", "The fake Graph accepts sendMail only as base64 MIME with Content-Type text/plain, not %q.", mt)
	}
	b64, err := io.ReadAll(io.LimitReader(c.r.Body, MaxRequestBytes+1))
	if err != nil {
		return gerr(400, "BadRequest", "Cannot read the request body.")
	}
	if len(b64) > MaxRequestBytes {
		return gerr(413, "RequestEntityTooLarge", "The request is larger than the maximum of %d bytes.", MaxRequestBytes)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64)))
	if err != nil {
		return gerr(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
	}
	msg := &message{raw: raw, size: int64(len(raw)), isRead: true}
	if err := msg.readHeader(strings.NewReader(string(raw))); err != nil {
		return gerr(400, "ErrorMimeContentInvalid", "The MIME content is not valid: %v", err)
	}
	rcpts := append(append(append([]string(nil), msg.to...), msg.cc...), msg.bcc...)
	if len(rcpts) == 0 {
		return gerr(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients.")
	}
	delivered := stripHeader(raw, "Bcc")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(msg, c.mailbox.wellKnown["sentitems"])
	seen := map[*user]bool{}
	for _, a := range rcpts {
		u := s.users[strings.ToLower(a)]
		if u == nil || seen[u] {
			continue
		}
		seen[u] = true
		in := &message{raw: delivered, size: int64(len(delivered))}
		if err := in.readHeader(strings.NewReader(string(delivered))); err != nil {
			return gerr(500, "ErrorInternalServerError", "graphtest: %v", err)
		}
		s.store(in, u.wellKnown["inbox"])
	}
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// stripHeader removes every field named name (and its folded lines) from
// the message header, leaving all other bytes as they were.
func stripHeader(raw []byte, name string) []byte {
	var out []byte
	rest := raw
	dropping := false
	for len(rest) > 0 {
		i := strings.IndexByte(string(rest), '\n')
		line := rest
		if i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		trimmed := strings.TrimRight(string(line), "\r\n")
		if trimmed == "" { // end of header: the body follows unchanged
			out = append(out, line...)
			out = append(out, rest...)
			return out
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !dropping {
				out = append(out, line...)
			}
			continue
		}
		field, _, _ := strings.Cut(trimmed, ":")
		dropping = strings.EqualFold(strings.TrimSpace(field), name)
		if !dropping {
			out = append(out, line...)
		}
	}
	return out
}

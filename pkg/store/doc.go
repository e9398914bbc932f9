// Package store is where fetched mail lands: a target directory of .eml
// files or a Maildir, and the fetch state kept inside it.
//
// # The order that makes a fetch safe
//
// For every message the engine calls Mailbox.Put, which streams the message
// into a temporary file in the target directory (a ".mailport-tmp-" dot
// file, or one in Maildir tmp/: nothing a collector picks up), syncs it and
// renames it into place. After a batch, Mailbox.Commit syncs the directory,
// appends one journal line per message and syncs the journal; only then does
// it hand out a Receipt per message. Running --exec on a message
// (Delivered / Fail) and acknowledging it on the server (Acknowledge) need
// that Receipt, so the engine cannot acknowledge a message whose file and
// record a crash could still lose:
//
//	st, err := store.Open(dir, store.Options{Format: store.EML, Wait: wait})
//	defer st.Close()
//	mb, err := st.Mailbox(account, folder.Name, folder.Validity)
//	// 1. finish what a crash interrupted: recorded, not yet acknowledged
//	for _, r := range mb.Unacknowledged() { ...exec if r.State == StateFetched, then server side, then mb.Acknowledge... }
//	for _, r := range mb.Failed() { ...retry exec... }
//	// 2. new messages
//	list, err := in.List(ctx, criteria)  // skip those with mb.Seen(m.ID)
//	in.Fetch(ctx, batch, func(m mail.Message, r io.Reader) error { _, err := mb.Put(m, r); return err })
//	receipts, err := mb.Commit()
//	// 3. per receipt: exec (mb.Delivered or mb.Fail), then delete/move/mark seen, then
//	mb.Acknowledge(store.ActionDeleted, receipts...)
//	st.RecordRun(store.Run{Account: account, ...})
//
// A crash at any point leaves the message on the server, or in the directory
// and the journal, never neither; and a rerun neither loses nor duplicates:
//
//   - A temporary file is never visible as a message, and Open removes those
//     a crash left behind.
//   - A file renamed into place whose journal line was not yet written (a
//     crash before Commit) is not recorded, so the message was not
//     acknowledged and is still on the server. The rerun downloads it again
//     and Put finds the file: .eml names are deterministic (date and id),
//     and Maildir names carry a hash of the message's key, so Put compares
//     content and records the existing file (Written.Adopted) instead of
//     writing a copy.
//   - A message recorded but not acknowledged (a crash between Commit and
//     the server's answer) is returned by Unacknowledged and Seen is true
//     for it, so the rerun acknowledges it without writing it again.
//   - --exec is at least once: a crash after the command succeeded but
//     before Delivered was synced runs it again for that message.
//
// # The journal
//
// The state is the file .mailport-state.jsonl in the target directory: JSON
// lines, appended, keyed by account, folder, validity (IMAP UIDVALIDITY;
// empty for POP3 UIDL and Graph ids) and server id. Line types: fetched
// (file, size, SHA-256, Message-ID, time), delivered, failed (with the
// error), acknowledged (with the action), validity (the folder's validity
// as of the last run) and run (a run summary for status: times, counts,
// bytes, error). Loading tolerates a torn last line (cut off) and skips
// damaged lines. When the journal has grown to more than twice the lines
// its state needs, Open rewrites it atomically with one line per message.
// The lock file .mailport.lock beside it keeps a second fetch out while one
// runs and holds the PID of the fetch that has it.
//
// # Names
//
// .eml files are named "<received date, UTC>_<SafeID(id)>.eml", e.g.
// "20261126T101500Z_4711.eml". The date is the server's received time, else
// the message's Date: header, else the word NoDate, so the name is the same
// on every run. Maildir files get standard unique names in new/
// ("<seconds>.M<µs>P<pid>Q<n>X<key hash>.<host>,S=<size>"). No name contains
// anything a server chose except the id through SafeID, and all file
// operations go through an os.Root on the target directory, so nothing a
// server sends can write outside it.
//
// # Several folders
//
// A fetch of several folders gives each its own target directory, so
// each has its own journal and lock: FolderDir names it below the
// directory given (root/Inbox/Endpoint for eml, the Maildir++ sub-folder
// root/.Inbox.Endpoint for maildir, INBOX being root itself), with every
// level of the server's folder name made harmless.
//
// # Validity changes
//
// When an IMAP folder's UIDVALIDITY changes, every UID is new. Store.Mailbox
// records and reports the change (Mailbox.ValidityChange); Put then matches
// each message against the not yet matched entries of the older validities
// by Message-ID and size (or by identical content) and records a match
// against the existing file instead of writing it again. See Store.Mailbox.
package store

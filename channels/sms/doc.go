// Package sms receives SMS and WhatsApp messages from SMS providers'
// webhooks and hands each one, sealed, to the gateway.
//
// Three endpoints, each on only when its secret is configured:
//
//   - POST /webhooks/twilio — SMS, MMS and WhatsApp through Twilio. The
//     X-Twilio-Signature is checked against the configured public URL (the
//     one Twilio calls; never the request's Host) and every POST parameter;
//     JSON bodies by their bodySHA256. Media is fetched with the account's
//     credentials, only over https from the configured media hosts (a
//     redirect must stay on them), within a time and size limit, and
//     streamed straight into sealed attachments. The answer is TwiML: an
//     empty <Response/>, or one neutral catalog text if replies are on.
//   - GET or POST /webhooks/vonage — Vonage's SMS API, form or JSON,
//     signed with sig (md5hash, md5, sha1, sha256 or sha512) and a
//     timestamp inside the replay window. Each part of a concatenated SMS
//     is its own tip, sealed and made durable as it arrives (Vonage never
//     resends a part it got a 2xx for), carrying a crypto.Part whose Group
//     is a keyed hash of the sender and the provider's reference. The
//     console joins the parts with package parts.
//   - POST /webhooks/sms — a generic signed webhook for other gateways,
//     such as an Android phone with a local SIM card running the SMS
//     Gateway for Android app: docs/sms-webhook.md.
//
// Reach for New with a Config from DefaultConfig and the gateway's Deps.
//
// Every message id a provider may resend (for Twilio the whole signed
// string, since its signature runs keys and values together and so does
// not fix where a MessageSid ends; Vonage's messageId; the generic
// delivery id) is remembered only as a keyed hash with an expiry,
// so a retry is answered as a success and queued once; the mark is set
// only once the tip is durable, so a gateway that dies mid-message never
// turns the provider's retry into a loss (see idempotency.go). The sender's number
// goes only into the sealed tip (Sender.Phone and the Reply address);
// logs say which provider and what happened, never who or what.
//
// Answers: 401 unsigned, 403 bad signature, 409 timestamp outside the
// replay window, 413 too large, 415 wrong content type, 400 malformed or
// not a message, 502 media could not be fetched, 503 queue unavailable or
// the same message being processed by another delivery.
// Nothing is queued on any of them.
//
// What it deliberately does not do: send SMS (replies go through the
// outbox), verify Vonage's Messages-API JWTs (only the SMS API's signed
// webhooks), reassemble parts itself (a gateway holding parts in memory
// could lose them), or trust X-Forwarded-* headers.
package sms

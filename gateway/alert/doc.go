// Package alert tells an NGO's key-holders that they should look at the
// triage console, and nothing more.
//
// A Notifier hears from the intake that a tip was made durable (it
// implements the gateway's Observer) and sends one fixed, configurable text
// ("Flare: please check the console") through each configured Target: a
// self-hosted ntfy server (Ntfy), email over SMTP with STARTTLS (SMTP), a
// Telegram staff chat through a bot of its own (Telegram), or a signed
// generic webhook (Webhook). The alert never carries the channel, kind,
// language, count or anything from the tip.
//
// There are two tiers. A distress call alerts at once. Everything else is
// coalesced: at most one alert per interval (an hour by default), sent at
// a random moment in the first quarter of the next free interval, so that
// an alert does not date an ordinary tip.
//
// What is owed to each target is kept in a record of the queue backend
// (queue.Records), so that alerts survive a restart and gateways sharing a
// queue do not each send one; a failed delivery is retried with backoff.
// The record holds only flags and counters of owed alerts and the times of
// the alert schedule, never anything from a tip. The intake only flips an
// in-memory flag: alerts never block or fail intake.
package alert

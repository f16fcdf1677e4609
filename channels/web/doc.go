// Package web is Flare's plain web intake: a form at "/" that works with
// JavaScript off (Tor Browser's safest mode) and a scriptable endpoint at
// "/submit". The onion channel publishes the same handler as an onion
// service.
//
// The form posts back to "/", so a browser's history only ever shows the
// home page. Uploads are read part by part with a multipart reader and each
// file is streamed straight into a sealed attachment: nothing is spooled to
// a temporary file (net/http's ParseMultipartForm would write large files to
// disk in the clear) and no file is ever whole in memory.
//
// Every text on the pages comes from the catalog, by language, chosen from
// a visible switch that is a plain link (each language in its own name and
// script), else Accept-Language, else the deployment's default. The pages
// load nothing from anywhere else and are never cached.
//
// The form is built for a phone someone else will check: nothing is
// preselected or remembered (autocomplete="off"), each page carries a
// single-use token so a page restored from history cannot be sent again,
// the receipt evicts the sent form from the back/forward cache with an
// empty one-second cookie (its only cookie), and every page has a
// quick-exit link (Config.QuickExitURL). A message sent without a kind is
// a distress call if it holds a distress word in any supported language;
// otherwise the form asks once. A refusal is shown above the form with
// what was typed still in it.
package web

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
// Accept-Language or a visible switch that is a plain link. The pages load
// nothing from anywhere else, set no cookies, and are never cached.
package web

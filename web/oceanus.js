/*! oceanus tracker: page views, custom events and link clicks as /swallow beacons.
 * ES5, no dependencies. Served by oceanus at /static/js/oceanus.js. Page API (README.md,
 * "Tracking a website"):
 *   <script>window.oceanus=window.oceanus||{q:[]};oceanus.q.push({evt:"pageview"});</script>
 *   <script async src="https://collector/static/js/oceanus.js" data-site="samplesite"></script>
 * oceanus.q.push({evt, uid, jsn, ...}) queues an event before the script has loaded and sends
 * it at once afterwards. Settings: data-* attributes on the script tag, or the same keys on
 * window.oceanus (which win): site, endpoint, oid, uid, auto, clicks.
 */
(function (w, d) {
  'use strict';
  var o = (w.oceanus = w.oceanus || {});
  if (o.loaded) return; // the script included twice
  o.loaded = true;

  var script = d.currentScript;
  if (!script) {
    var all = d.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0 && !script; i--)
      if (/\/oceanus(\.min)?\.js(\?|#|$)/.test(all[i].src)) script = all[i];
  }
  function setting(key) {
    var v = o[key];
    if (v === undefined && script) v = script.getAttribute('data-' + key);
    return v === null ? undefined : v;
  }
  function flag(key, dflt) {
    var v = setting(key);
    return v === undefined ? dflt : v !== false && v !== 'false' && v !== '0';
  }

  // Beacons go to the origin the script came from: /swallow/<site>, or the default /swallow.
  var site = setting('site');
  var origin = ((script && script.src) || '').match(/^https?:\/\/[^\/?#]+/);
  var endpoint =
    setting('endpoint') ||
    (origin ? origin[0] : '') + '/swallow' + (site ? '/' + encodeURIComponent(site) : '');

  // Session key: 16 lower-case hex chars in a first-party cookie, kept while events keep
  // coming (each event moves its expiry 30 minutes on). Without cookies: this page only.
  var COOKIE = 'oceanus_sid';
  var sid;
  function session() {
    var m = d.cookie.match(/(?:^|;\s*)oceanus_sid=([0-9a-f]{16})(?:;|$)/);
    sid = m ? m[1] : sid;
    if (!sid) {
      var c = w.crypto || w.msCrypto,
        b = [];
      if (c && c.getRandomValues) b = c.getRandomValues(new Uint8Array(8));
      sid = '';
      for (var k = 0; k < 8; k++) {
        var x = b.length ? b[k] : Math.floor(Math.random() * 256);
        sid += (x < 16 ? '0' : '') + x.toString(16);
      }
    }
    d.cookie =
      COOKIE + '=' + sid + '; path=/; max-age=1800; SameSite=Lax' +
      (location.protocol === 'https:' ? '; Secure' : '');
    return sid;
  }

  function size(width, height) {
    return width && height ? width + 'x' + height : '';
  }

  var images = []; // fallback requests in flight: referenced so that they are not dropped

  function send(e) {
    if (!e || typeof e !== 'object') return;
    var de = d.documentElement || {},
      s = w.screen || {},
      jsn = e.jsn;
    var p = {
      oid: e.oid || setting('oid') || '2',
      evt: e.evt || 'pageview',
      uid: e.uid != null ? e.uid : setting('uid'),
      ref: e.ref != null ? e.ref : d.referrer,
      tit: e.tit != null ? e.tit : d.title,
      url: e.url || location.href,
      enc: d.characterSet || d.charset,
      scr: size(s.width, s.height),
      vie: size(w.innerWidth || de.clientWidth, w.innerHeight || de.clientHeight),
      jsn: jsn != null && typeof jsn === 'object' ? JSON.stringify(jsn) : jsn,
      sid: session()
    };
    var q = [];
    for (var key in p)
      if (p[key] != null && p[key] !== '') q.push(key + '=' + encodeURIComponent(p[key]));
    var body = q.join('&'),
      n = w.navigator;
    // sendBeacon: a text/plain POST that outlives the page (link clicks, unload).
    try {
      if (n.sendBeacon && n.sendBeacon(endpoint, body)) return;
    } catch (err) {}
    var img = new Image(1, 1);
    img.onload = img.onerror = function () {
      for (var j = 0; j < images.length; j++) if (images[j] === img) images.splice(j, 1);
    };
    images.push(img);
    img.src = endpoint + (endpoint.indexOf('?') < 0 ? '?' : '&') + body;
  }

  // Calls queued before load are sent now; from here on, push sends at once.
  var queued = o.q && o.q.length ? o.q : [],
    pageview = false;
  o.q = {
    push: function () {
      for (var j = 0; j < arguments.length; j++) send(arguments[j]);
      return 0;
    }
  };
  for (var j = 0; j < queued.length; j++) {
    if (queued[j] && (queued[j].evt || 'pageview') === 'pageview') pageview = true;
    send(queued[j]);
  }
  // One page view per load, unless the page sent its own (the original snippet queues one) or
  // opted out (data-auto="false" / oceanus.auto = false).
  if (!pageview && flag('auto', true)) send({ evt: 'pageview' });

  // Link clicks (data-clicks="true" / oceanus.clicks = true): evt=click, jsn={"href": ...}.
  // Sent as a beacon, so navigation is not held up.
  if (flag('clicks', false) && d.addEventListener) {
    d.addEventListener(
      'click',
      function (ev) {
        for (var a = ev.target; a && a !== d; a = a.parentNode)
          if (a.tagName && a.tagName.toLowerCase() === 'a' && a.href) {
            send({ evt: 'click', jsn: { href: a.href } });
            return;
          }
      },
      true
    );
  }
})(window, document);

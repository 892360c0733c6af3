"""The demo site: settings, URLs and the demo page that put asyncrest and the tagging app together."""

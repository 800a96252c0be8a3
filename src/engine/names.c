/*
 * names.c - container names (docker's rule, generated adjective_noun names)
 * and signal names.
 */
#include "base/signame.h"
#include "engine/internal.h"

bool hamn_engine_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	if (name[0] == '/')
		name++;
	n = strlen(name);
	if (n < 2 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

int name_check(const char *name, struct hamn_error **err)
{
	if (hamn_engine_name_valid(name))
		return 0;
	return hamn_error_setq(err, EINVAL,
			       "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			       name ? name : "");
}

/* hamn's own word lists: weather and landscape adjectives, northern animals and plants. */
static const char *const adjectives[] = {
	"amber",   "arctic",   "autumn",  "billowing", "bitter",  "blustery", "boreal",
	"breezy",  "bright",   "brisk",   "calm",      "clear",   "cloudy",   "coastal",
	"crisp",   "dewy",     "drifting", "dusky",    "early",   "fading",   "foggy",
	"frosty",  "gentle",   "gleaming", "golden",   "hazy",    "hidden",   "hollow",
	"icy",     "keen",     "late",    "lofty",     "lucid",   "misty",    "mossy",
	"muted",   "nimble",   "northern", "pale",     "patient", "quiet",    "rapid",
	"restless", "rocky",   "rolling", "rustic",    "salty",   "sandy",    "shady",
	"silent",  "silver",   "sleepy",  "slow",      "snowy",   "sober",    "solemn",
	"steady",  "stormy",   "sturdy",  "sunny",     "swift",   "tidal",    "tranquil",
	"twilight", "vivid",   "wandering", "wild",    "windy",   "wintry",   "young",
};

static const char *const nouns[] = {
	"alder",   "aspen",    "auk",     "badger",  "beaver",  "birch",   "bittern", "bramble",
	"crane",   "crowberry", "curlew", "dipper",  "dunlin",  "eider",   "elk",     "ermine",
	"falcon",  "fern",     "fox",     "gannet",  "goshawk", "grouse",  "hare",    "harrier",
	"hazel",   "heather",  "heron",   "juniper", "kestrel", "lapwing", "larch",   "lemming",
	"lichen",  "linden",   "lynx",    "marten",  "merlin",  "moose",   "otter",   "osprey",
	"owl",     "ptarmigan", "puffin", "raven",   "reindeer", "rowan",  "salmon",  "sandpiper",
	"seal",    "sedge",    "shrew",   "skua",    "sorrel",  "spruce",  "stoat",   "swan",
	"tern",    "thrush",   "trout",   "vole",    "walrus",  "wagtail", "willow",  "wolf",
	"wolverine", "wren",
};

char *name_generate(uint32_t seed)
{
	size_t na = sizeof(adjectives) / sizeof(adjectives[0]);
	size_t nn = sizeof(nouns) / sizeof(nouns[0]);

	return xasprintf("%s_%s", adjectives[seed % na], nouns[(seed / na) % nn]);
}

int hamn_engine_signal_parse(const char *s)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int sig;

	return hamn_signal_parse(s, &sig, &err) < 0 ? -1 : sig;
}

"""Static JavaScript and CSS inlined into the offline HTML map pages."""

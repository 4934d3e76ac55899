"""Loaders and validators for the data of each benchmark: read only through the installed packages'
own readers, then checked (counts, value ranges) before any space uses them."""

// Translation unit that builds the precompiled header (src/pch/pch.hpp).

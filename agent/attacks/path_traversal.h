// Path traversal: normalizes a decoded path (both separators, Tomcat's "..;"
// segments, a NUL byte that truncates it) and checks whether it climbs above
// its root, reaches a file an attacker wants (/etc/passwd, win.ini,
// WEB-INF/web.xml, /proc/self/environ), or survives a filter that strips
// "../" once ("....//"). A relative link ("../img/a.png") climbing one level
// scores below the default threshold; "/a/../b" scores nothing.
#pragma once

#include <string_view>

#include "agent/attacks/verdict.h"

namespace rampart::attacks {

// Judges one decoded value. Linear in its size.
Verdict DetectPathTraversal(std::string_view input);

// DetectPathTraversal(input).score.
double PathTraversalScore(std::string_view input);

}  // namespace rampart::attacks

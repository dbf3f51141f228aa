#ifndef WPK_CYAML_SHIM_H
#define WPK_CYAML_SHIM_H
#include <yaml.h>
#endif

# onednn.cmake: the oneDNN backend (Debian libdnnl-dev). Found: its
# implementation is compiled in (FSC_HAVE_ONEDNN). Absent: the "onednn"
# provider still lists its configurations, as unavailable.
find_path(FSC_DNNL_INCLUDE dnnl.h)
find_library(FSC_DNNL_LIB dnnl)
if(FSC_DNNL_INCLUDE AND FSC_DNNL_LIB)
  message(STATUS "oneDNN: ${FSC_DNNL_LIB}")
  list(APPEND FSC_EXTRA_DEFS FSC_HAVE_ONEDNN)
  list(APPEND FSC_EXTRA_INCLUDES ${FSC_DNNL_INCLUDE})
  list(APPEND FSC_EXTRA_LIBS ${FSC_DNNL_LIB})
else()
  message(STATUS "oneDNN: not found (install libdnnl-dev); onednn:* configurations will be unavailable")
endif()

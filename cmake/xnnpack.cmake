# xnnpack.cmake: the XNNPACK backend (Debian libxnnpack-dev, which needs
# libpthreadpool-dev for pthreadpool.h). Found: FSC_HAVE_XNNPACK. Absent: the
# "xnnpack" provider still lists its configurations, as unavailable.
find_path(FSC_XNNPACK_INCLUDE xnnpack.h)
find_path(FSC_PTHREADPOOL_INCLUDE pthreadpool.h)
find_library(FSC_XNNPACK_LIB XNNPACK)
find_library(FSC_PTHREADPOOL_LIB pthreadpool)
if(FSC_XNNPACK_INCLUDE AND FSC_PTHREADPOOL_INCLUDE AND FSC_XNNPACK_LIB AND FSC_PTHREADPOOL_LIB)
  message(STATUS "XNNPACK: ${FSC_XNNPACK_LIB}")
  list(APPEND FSC_EXTRA_DEFS FSC_HAVE_XNNPACK)
  list(APPEND FSC_EXTRA_INCLUDES ${FSC_XNNPACK_INCLUDE} ${FSC_PTHREADPOOL_INCLUDE})
  list(APPEND FSC_EXTRA_LIBS ${FSC_XNNPACK_LIB} ${FSC_PTHREADPOOL_LIB})
else()
  message(STATUS "XNNPACK: not found (install libxnnpack-dev libpthreadpool-dev); xnnpack:* configurations will be unavailable")
endif()

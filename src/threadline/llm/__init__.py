"""Model providers behind one provider-neutral call (``types``, ``errors``)."""

// node --import ./loader.mjs app.js: starts the distill-delivery agent (see README).
import './dist/register.js';

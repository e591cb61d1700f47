// node --require ./loader.cjs app.js: starts the distill-delivery agent where Node can do it synchronously (see README).
require('./dist/register.cjs');

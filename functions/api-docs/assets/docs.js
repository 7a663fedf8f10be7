// Starts Swagger UI on the served description. Kept out of docs.html so the page needs no
// inline script (a Content-Security-Policy of `script-src 'self'` allows it).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default sends the document to validator.swagger.io; the page must work offline.
  validatorUrl: null,
});

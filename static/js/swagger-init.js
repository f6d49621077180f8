// Starts Swagger UI on /api/docs/. The same start-up as drf-spectacular's own inline
// script, read from the data attributes of #swagger-ui so that the page needs no
// inline script under the Content-Security-Policy.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  var data = root.dataset;
  var parsed = function (text, fallback) {
    return text ? JSON.parse(text) : fallback;
  };
  var swaggerSettings = parsed(data.settings, {});
  var oauth2Config = parsed(data.oauth2Config, null);
  var schemaAuthNames = parsed(data.schemaAuthNames, []);
  var schemaAuthFailed = false;
  var plugins = [];
  var ui;

  var reloadSchema = function (ori) {
    return function () {
      schemaAuthFailed = false;
      setTimeout(function () { ui.specActions.download(); });
      return ori.apply(null, arguments);
    };
  };
  if (schemaAuthNames.length > 0) {
    plugins.push(function () {
      return {
        statePlugins: {
          auth: {
            wrapActions: {
              authorizeOauth2: reloadSchema,
              authorize: reloadSchema,
              logout: reloadSchema,
            },
          },
        },
      };
    });
  }

  var isSchemaUrl = function (url) {
    return ui !== undefined && url === new URL(ui.getConfigs().url, document.baseURI).href;
  };

  var responseInterceptor = function (response) {
    if (!response.ok && isSchemaUrl(response.url)) {
      console.warn("schema request received '" + response.status + "'. disabling credentials for schema till logout.");
      if (!schemaAuthFailed) {
        // Retry once only, so a refused schema cannot loop.
        schemaAuthFailed = true;
        setTimeout(function () { ui.specActions.download(); });
      }
    }
    return response;
  };

  var injectAuthCredentials = function (request) {
    var authorized;
    if (ui !== undefined) {
      var state = ui.getState().get("auth").get("authorized");
      if (state !== undefined && Object.keys(state.toJS()).length !== 0) {
        authorized = state.toJS();
      }
    } else if (![undefined, "{}"].includes(localStorage.authorized)) {
      authorized = JSON.parse(localStorage.authorized);
    }
    if (authorized === undefined) {
      return;
    }
    for (var i = 0; i < schemaAuthNames.length; i++) {
      var authDef = authorized[schemaAuthNames[i]];
      if (authDef === undefined || authDef.schema === undefined) {
        continue;
      }
      if (authDef.schema.type === "http" && authDef.schema.scheme === "bearer") {
        request.headers.Authorization = "Bearer " + authDef.value;
        return;
      } else if (authDef.schema.type === "apiKey" && authDef.schema.in === "header") {
        request.headers[authDef.schema.name] = authDef.value;
        return;
      } else if (authDef.schema.type === "oauth2" && authDef.token.token_type === "Bearer") {
        request.headers.Authorization = "Bearer " + authDef.token.access_token;
        return;
      }
    }
  };

  var requestInterceptor = function (request) {
    if (request.loadSpec && schemaAuthNames.length > 0 && !schemaAuthFailed) {
      try {
        injectAuthCredentials(request);
      } catch (e) {
        console.error("schema auth injection failed with error: ", e);
      }
    }
    // Only same-origin writes carry the CSRF token (the session's "Try it out").
    if (!["GET", undefined].includes(request.method) && request.credentials === "same-origin") {
      request.headers[data.csrfHeaderName] = data.csrfToken;
    }
    return request;
  };

  ui = SwaggerUIBundle(Object.assign({
    url: data.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    plugins: plugins,
    layout: "BaseLayout",
    requestInterceptor: requestInterceptor,
    responseInterceptor: responseInterceptor,
  }, swaggerSettings));

  if (oauth2Config) {
    ui.initOAuth(oauth2Config);
  }
})();

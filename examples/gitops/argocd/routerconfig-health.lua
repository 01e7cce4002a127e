-- Argo CD health check for RouterConfig (router.link-assistant.dev). Install it in argocd-cm under
-- resource.customizations.health.router.link-assistant.dev_RouterConfig (see ../README.md).
-- Healthy: the controller saw the current generation, the config is valid and the gateways are ready.
-- Degraded: the config is invalid (the message has file:line:column), a child was refused by the API,
-- or an object the controller does not own blocks a child. Progressing: anything still on its way.
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to report"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to see the latest spec"
  return hs
end
local valid = nil
local ready = nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "ConfigValid" then
    valid = condition
  elseif condition.type == "Ready" then
    ready = condition
  end
end
if valid ~= nil and valid.status == "False" then
  hs.status = "Degraded"
  hs.message = valid.message or "the config is invalid"
  return hs
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the gateway Deployment"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready.reason == "ApplyFailed" or ready.reason == "NotOwned" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = ready.message or ready.reason or ""
return hs
